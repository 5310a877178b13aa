"""A client address that keeps sending request heads over the limit is cooled down, on a real miner: its new
connections are turned away unread (held at most the read timeout, a bounded number at once), the validator on
another address is served all along, the cool-down is one log line and ends when it is due. The attacker sends
from 127.0.0.2, the validator from 127.0.0.1 (Linux routes all of 127.0.0.0/8 to lo)."""

from __future__ import annotations

import socket
import time
from collections.abc import Callable
from contextlib import ExitStack

from content_miner.neuron.http_protocol import MAX_HELD
from content_miner.neuron.miner_client import MinerClient, axon_info, mock_keys
from content_miner_protocol import StageStatusSynapse
from support.miner import MinerRun, run
from support.raw_http import closed_by_server, connect, exchange, read_answer, request_bytes
from support.waiting import wait_for

ATTACKER = "127.0.0.2"
STRIKES = 3
COOLDOWN_S = 15
READ_TIMEOUT_S = 30  # longer than the cool-down: a held connection is closed when the cool-down ends
HUGE_HEAD = (b"POST /StageStatusSynapse HTTP/1.1\r\nhost: 127.0.0.1\r\nx-pad: " + b"a" * 100_000
             + b"\r\ncontent-length: 0\r\n\r\n")


def _signed(client: MinerClient) -> bytes:
    return request_bytes(*client.signed_request(StageStatusSynapse(events_limit=1)))


def _open_without_answer(sock: socket.socket) -> bool:
    """Whether `sock` is still open and nothing was answered on it (no wait)."""
    sock.setblocking(False)
    try:
        sock.recv(1)
    except BlockingIOError:
        return True
    finally:
        sock.setblocking(True)
    return False


def test_an_address_that_keeps_sending_heads_over_the_limit_is_turned_away_for_the_cool_down_only(
        start_miner: Callable[..., MinerRun]) -> None:
    miner = start_miner(
        "--no_sample", "--axon.head_strikes", str(STRIKES), "--axon.strike_window", "60",
        "--axon.cooldown", str(COOLDOWN_S), "--axon.read_timeout", str(READ_TIMEOUT_S),
        "--axon.refusal_log_interval", "600", "--blacklist.requests_per_minute", "100000",
        "--blacklist.burst", "1000")
    miner.wait_line(r"Stage monitoring activated", timeout=60)
    port = miner.axon_port
    keys = mock_keys(miner.data_dir)
    client = MinerClient(keys.validator, axon_info(keys.miner_hotkey, keys.miner_coldkey, "127.0.0.1", port))
    answer = exchange(port, _signed(client), source=ATTACKER)
    assert answer is not None and answer.status == 200, answer  # served, before its strikes

    for _ in range(STRIKES):
        answer = exchange(port, HUGE_HEAD, source=ATTACKER)
        assert answer is not None and answer.status == 431, answer
    cooled_at = time.monotonic()
    with ExitStack() as stack:
        held = [stack.enter_context(connect(port, timeout=10, source=ATTACKER)) for _ in range(MAX_HELD)]
        for sock in held:
            sock.sendall(_signed(client))  # a valid request: never read
        one_more = stack.enter_context(connect(port, timeout=10, source=ATTACKER))
        assert closed_by_server(one_more)  # past the held ones: closed at once, unanswered
        assert all(_open_without_answer(sock) for sock in held)

        # The validator, on another address, is served all along: by a Dendrite and over raw HTTP.
        assert run(client.status()).dendrite.status_code == 200
        answer = exchange(port, _signed(client))
        assert answer is not None and answer.status == 200, answer
        for sock in held:  # closed when the cool-down is over, unanswered
            sock.settimeout(COOLDOWN_S + 20)
            assert read_answer(sock) is None
    run(client.close())

    def served_again() -> bool:
        answer = exchange(port, _signed(client), timeout=READ_TIMEOUT_S + 10, source=ATTACKER)
        return answer is not None and answer.status == 200

    wait_for(served_again, timeout=COOLDOWN_S + 30, interval=0.5, what="the attacker's address to be served again")
    assert time.monotonic() - cooled_at > COOLDOWN_S - 2  # it lasted (a coarse bound: the machine is shared)

    about = [line for line in miner.lines() if "cooling down" in line]
    assert len(about) == 1, about  # the turned-away connections are counted, not logged one by one
    assert about[0].endswith(f"Refused a request from client {ATTACKER}: 431 cooling down after request heads over "
                             f"the limit: {STRIKES} request heads over the limit within 60 s: new connections "
                             f"turned away for {COOLDOWN_S} s"), about
