"""The table behind the axon's cool-down of addresses that keep sending request heads over the limit, with the
clock passed in: strikes within the window, a cool-down that never outlasts its length, only the striking
address, and a bounded table. The real miner is tried in test_head_cooldown."""

from __future__ import annotations

from content_miner.neuron.head_strikes import HeadStrikes


def test_strikes_within_the_window_cool_that_address_down_for_the_cool_down_and_no_longer() -> None:
    now = [1000.0]
    table = HeadStrikes(3, window_s=60, cooldown_s=30, clock=lambda: now[0])
    assert [table.strike("10.0.0.9") for _ in range(2)] == [False, False]
    assert table.cooling("10.0.0.9") == 0.0
    now[0] += 61  # the window is over: those two no longer count
    assert [table.strike("10.0.0.9") for _ in range(3)] == [False, False, True]
    assert table.cooling("10.0.0.9") == 30.0
    assert table.cooling("10.0.0.8") == 0.0  # another address: never cooled down by this one's strikes
    now[0] += 20
    assert table.strike("10.0.0.9") is False  # strikes during the cool-down do not extend it
    assert table.cooling("10.0.0.9") == 10.0
    now[0] += 10
    assert table.cooling("10.0.0.9") == 0.0  # over exactly when it was due
    assert [table.strike("10.0.0.9") for _ in range(3)] == [False, False, True]  # counted afresh after it


def test_the_strikes_are_counted_in_a_sliding_window() -> None:
    now = [0.0]
    table = HeadStrikes(5, window_s=60, cooldown_s=30, clock=lambda: now[0])
    assert table.strike("10.0.0.9") is False
    now[0] = 59.3
    assert [table.strike("10.0.0.9") for _ in range(3)] == [False] * 3
    now[0] = 60.2  # the first strike is out of the window now, the next two make five within 0.9 s
    assert [table.strike("10.0.0.9") for _ in range(2)] == [False, True]


def test_the_table_is_bounded_and_a_new_address_takes_the_place_of_an_idle_one() -> None:
    now = [0.0]
    table = HeadStrikes(1, window_s=10, cooldown_s=10, max_addresses=3, clock=lambda: now[0])
    for address in ("10.0.0.1", "10.0.0.2", "10.0.0.3"):
        assert table.strike(address) is True
    assert table.strike("10.0.0.4") is False  # full of cool-downs still running: not tracked, not cooled
    assert table.cooling("10.0.0.4") == 0.0 and table.tracked() == 3
    now[0] += 25  # cool-downs over
    assert table.strike("10.0.0.4") is True  # in the place of the least recently struck
    assert table.tracked() == 3 and table.cooling("10.0.0.4") == 10.0


def test_addresses_that_struck_once_cannot_turn_the_cool_down_off() -> None:
    """10,000 addresses sending one head each used to fill the table for a whole window: a new attacker
    was then never cooled down."""
    now = [0.0]
    table = HeadStrikes(3, window_s=60, cooldown_s=60, max_addresses=100, clock=lambda: now[0])
    for index in range(100):
        table.strike(f"10.1.0.{index}")
    now[0] += 1
    assert [table.strike("10.9.9.9") for _ in range(3)] == [False, False, True]


def test_an_ipv6_host_is_counted_by_its_64_and_an_ipv4_mapped_client_by_its_ipv4_address() -> None:
    table = HeadStrikes(2, window_s=60, cooldown_s=60)
    assert table.strike("2001:db8:1:2::1") is False
    assert table.strike("2001:db8:1:2::ffff") is True  # the same /64
    assert table.cooling("2001:db8:1:2::77") > 0 and table.cooling("2001:db8:1:3::1") == 0.0
    assert table.strike("::ffff:192.0.2.7") is False
    assert table.strike("192.0.2.7") is True


def test_no_strikes_counted_when_turned_off() -> None:
    table = HeadStrikes(0, window_s=60, cooldown_s=60)
    assert not table.enabled
    assert [table.strike("10.0.0.9") for _ in range(10)] == [False] * 10
    assert table.cooling("10.0.0.9") == 0.0
