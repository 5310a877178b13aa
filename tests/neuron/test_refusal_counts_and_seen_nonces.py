"""The bounded pieces behind the axon's refusals, with the clock passed in: the refusal counts (one line per
caller and reason per interval, escaped and cut, a bounded number of lines) and the seen-nonce cache
(order-free, replays refused, bounded in time and size). The real miner is tried in test_axon_under_abuse."""

from __future__ import annotations

from types import SimpleNamespace

import pytest
from bittensor_wallet import Keypair

from content_miner.neuron.refusal_log import RefusalLog, short_text
from content_miner.neuron.replay_guard import NANOS, RequestRefused, RequestVerifier, SeenNonces


class Lines:
    def __init__(self) -> None:
        self.lines: list[tuple[str, str]] = []

    def warning(self, text: str) -> None:
        self.lines.append(("warning", text))

    def error(self, text: str) -> None:
        self.lines.append(("error", text))


def test_one_line_at_once_then_the_count_once_per_interval_then_nothing() -> None:
    now = [1000.0]
    logger = Lines()
    log = RefusalLog(logger, interval_s=60, clock=lambda: now[0])
    for _ in range(101):
        log.record("5Val", 401, "bad signature", "Signature mismatch")
    log.record("5Val", 403, "hotkey has no validator permit")  # another reason: a line of its own
    assert logger.lines == [("warning", "Refused a request from 5Val: 401 bad signature: Signature mismatch"),
                            ("warning", "Refused a request from 5Val: 403 hotkey has no validator permit")]
    now[0] += 30
    log.flush()
    assert len(logger.lines) == 2  # within the interval: counted, not logged
    now[0] += 31
    log.flush()
    assert logger.lines[2:] == [("warning", "Refused 100 more requests in 61 s from 5Val: 401 bad signature: "
                                            "Signature mismatch")]
    now[0] += 61
    log.flush()
    now[0] += 61
    log.record("5Val", 401, "bad signature", "Signature mismatch")  # forgotten by now: logged at once again
    assert logger.lines[3:] == [("warning", "Refused a request from 5Val: 401 bad signature: Signature mismatch")]
    log.record("5Val", 500, "internal error (TypeError)", "boom")
    assert logger.lines[-1][0] == "error"
    assert log.total == 104


def test_what_the_request_chose_is_escaped_and_cut() -> None:
    logger = Lines()
    log = RefusalLog(logger)
    log.record("\x1b[31m" + "5" * 100_000, 400, "malformed headers", "nonce: 'x\x9b\nabc" + "z" * 100_000)
    [(_, line)] = logger.lines
    assert len(line) < 400 and "\x1b" not in line and "\x9b" not in line and "\n" not in line
    assert line.startswith("Refused a request from \\x1b[31m5555") and "...(+" in line
    assert short_text("plain", 10) == "plain" and short_text("é", 10) == "\\xe9"


def test_callers_without_end_get_a_bounded_number_of_lines_and_a_sum() -> None:
    now = [0.0]
    logger = Lines()
    log = RefusalLog(logger, interval_s=60, clock=lambda: now[0], max_lines=5)
    for index in range(1000):
        log.record(f"random{index}", 403, "hotkey is not registered on the subnet")
    assert len(logger.lines) == 5
    now[0] += 60
    log.flush()
    assert logger.lines[-1] == ("warning", "Refused 995 more requests from 995 caller(s) in 60 s, not listed one by "
                                           "one (at most 5 lines per 60 s)")


def test_the_line_limit_holds_for_callers_that_keep_coming_back() -> None:
    """The counts of callers seen before are lines too: 200 callers refused again and again get at most
    `max_lines` lines and one sum per interval, not a line each."""
    now = [0.0]
    logger = Lines()
    log = RefusalLog(logger, interval_s=10, clock=lambda: now[0], max_lines=50)
    per_interval = []
    for _ in range(6):
        before = len(logger.lines)
        for _ in range(3):
            for index in range(200):
                log.record(f"client 127.0.1.{index}", 431, "request head too large")
        now[0] += 10
        log.flush()
        per_interval.append(len(logger.lines) - before)
    # The first flush also carries the first window's 50 lines; after it, 50 lines and one sum per window.
    assert per_interval[0] <= 101 and max(per_interval[1:]) <= 51, per_interval
    assert log.total == 6 * 3 * 200
    assert any("not listed one by one" in text for _, text in logger.lines)


def test_a_line_not_counted_is_logged_but_not_counted_again() -> None:
    logger = Lines()
    log = RefusalLog(logger)
    log.record("client 127.0.0.2", 431, "request head too large")
    log.record("client 127.0.0.2", 431, "cooling down", "5 heads within 60 s", counted=False)
    assert len(logger.lines) == 2 and log.total == 1 and log.by_reason() == {"request head too large": 1}


NOW = 1_700_000_000 * NANOS


def seen(**kwargs: int) -> tuple[SeenNonces, list[int]]:
    clock = [NOW]
    return SeenNonces(window_s=60, clock_ns=lambda: clock[0], **kwargs), clock


def accept(cache: SeenNonces, nonce: int, *, hotkey: str = "5Val", uuid: str = "u1", timeout: float = 12) -> None:
    cache.check(hotkey, uuid, nonce, timeout)
    cache.add(hotkey, uuid, nonce)


def test_nonces_in_any_order_are_accepted_once() -> None:
    cache, _ = seen()
    for nonce in (NOW - 3, NOW - 1, NOW - 2, NOW):  # parallel requests arriving out of order
        accept(cache, nonce)
    with pytest.raises(RequestRefused) as replay:
        accept(cache, NOW - 2)
    assert replay.value.kind == "nonce already used"
    accept(cache, NOW - 2, uuid="u2")  # another dendrite of the same validator
    accept(cache, NOW - 2, hotkey="5Other")


def test_the_window_is_bittensor_s_but_a_timeout_header_cannot_stretch_it() -> None:
    cache, _ = seen()
    accept(cache, NOW - 15 * NANOS, timeout=12)  # within 4 s + 12 s
    with pytest.raises(RequestRefused, match="Nonce is too old"):
        accept(cache, NOW - 17 * NANOS, timeout=12)
    with pytest.raises(RequestRefused, match="at most 60.0 s are accepted"):
        accept(cache, NOW - 61 * NANOS, timeout=10_000)  # the timeout is not signed
    accept(cache, NOW + 59 * NANOS)  # a validator's clock ahead of ours
    with pytest.raises(RequestRefused, match="ahead of the miner's clock"):
        accept(cache, NOW + 61 * NANOS)


def test_nonces_are_forgotten_once_out_of_the_window_and_the_cache_is_bounded() -> None:
    cache, clock = seen(max_entries=3)
    for offset in (3, 2, 1):
        accept(cache, NOW - offset)
    accept(cache, NOW)  # full: the oldest (NOW - 3) is forgotten, and everything up to it refused from now on
    assert len(cache) == 3
    with pytest.raises(RequestRefused, match="under load"):
        accept(cache, NOW - 3)  # a replay of the forgotten one: still refused
    with pytest.raises(RequestRefused, match="already used"):
        accept(cache, NOW - 1)
    clock[0] += 61 * NANOS
    accept(cache, clock[0])
    assert len(cache) == 1  # the old ones expired: no replay of them can pass the age check any more


def test_the_verifier_checks_the_signature_before_it_remembers_a_nonce() -> None:
    validator = Keypair.create_from_mnemonic(Keypair.generate_mnemonic())
    miner_hotkey = "5Miner"
    cache, _ = seen()
    verifier = RequestVerifier(miner_hotkey, cache)

    def request(nonce: int, *, signer: Keypair = validator) -> SimpleNamespace:
        message = f"{nonce}.{validator.ss58_address}.{miner_hotkey}.u1.hash"
        dendrite = SimpleNamespace(hotkey=validator.ss58_address, nonce=nonce, uuid="u1", version=10_005_000,
                                   signature=f"0x{signer.sign(message).hex()}")
        return SimpleNamespace(dendrite=dendrite, timeout=12.0, computed_body_hash="hash")

    forger = Keypair.create_from_mnemonic(Keypair.generate_mnemonic())
    with pytest.raises(RequestRefused) as forged:
        verifier.verify(request(NOW, signer=forger))
    assert forged.value.kind == "bad signature"
    verifier.verify(request(NOW))  # the forged request did not use up the honest nonce
    with pytest.raises(RequestRefused) as replay:
        verifier.verify(request(NOW))
    assert replay.value.kind == "nonce already used"
    old_format = request(NOW + 1)
    old_format.dendrite.version = 7_001_000
    with pytest.raises(RequestRefused) as old:
        verifier.verify(old_format)
    assert old.value.kind == "old nonce format"


def test_a_request_signed_before_the_miner_started_is_refused_and_odd_timeouts_change_nothing() -> None:
    """A replay of what an earlier run accepted: that run's cache is gone, so its nonces are refused."""
    cache, _ = seen(not_before_ns=NOW - 5 * NANOS)
    with pytest.raises(RequestRefused, match="predates the miner's start"):
        accept(cache, NOW - 6 * NANOS)
    for odd in (float("inf"), float("nan"), 1e300, -5.0):  # the header is not signed: it cannot widen the window
        accept(cache, NOW - 3 * NANOS, uuid=f"u{odd}", timeout=odd)
    with pytest.raises(RequestRefused, match="Nonce is too old"):
        accept(cache, NOW - 4 * NANOS - 1, uuid="late", timeout=float("inf"))
