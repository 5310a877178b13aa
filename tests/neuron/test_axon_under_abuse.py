"""The miner's axon against hostile traffic, all real: one `neurons/miner.py --mock` serves every test
here, on loopback, with small timeouts so that nothing waits long; clients are raw sockets, raw HTTP with
signed headers, and bittensor Dendrites. The tests leave the miner serving for the next one."""

from __future__ import annotations

import asyncio
import json
import re
import time
from collections.abc import Iterator
from pathlib import Path

import bittensor as bt
import httpx
import pytest

from content_miner.neuron.miner_client import MinerClient, axon_info, mock_keys
from content_miner_protocol import StageStatusSynapse
from support.miner import MinerRun, run
from support.raw_http import closed_by_server, connect, exchange, read_answer, request_bytes
from support.waiting import wait_for

READ_TIMEOUT_S = 3
KEEP_ALIVE_S = 7  # idle 6 s in the test: longer than uvicorn's 5 s, which bittensor used
MAX_CONNECTIONS = 150  # above the 100 of a Dendrite's connection pool: the parallel test fits
REFUSAL_INTERVAL_S = 3
LOG_LINE_LIMIT = 600  # a log line, prefix and all; whatever a request holds, it is cut well below


@pytest.fixture(scope="module")
def miner(tmp_path_factory: pytest.TempPathFactory) -> Iterator[MinerRun]:
    root = tmp_path_factory.mktemp("abuse")
    (root / "data").mkdir()
    run_ = MinerRun(root / "data", root / "miner.log", "--no_sample",
                    "--axon.read_timeout", str(READ_TIMEOUT_S), "--axon.keep_alive", str(KEEP_ALIVE_S),
                    "--axon.max_connections", str(MAX_CONNECTIONS),
                    "--axon.refusal_log_interval", str(REFUSAL_INTERVAL_S),
                    "--blacklist.requests_per_minute", "100000", "--blacklist.burst", "1000")
    run_.start()
    try:
        run_.wait_line(r"Stage monitoring activated", timeout=60)
        yield run_
    finally:
        run_.kill_all()


@pytest.fixture(scope="module")
def client(miner: MinerRun) -> MinerClient:
    keys = mock_keys(miner.data_dir)
    return MinerClient(keys.validator, axon_info(keys.miner_hotkey, keys.miner_coldkey, "127.0.0.1", miner.axon_port))


def _serving(client: MinerClient) -> None:
    answer = run(client.status())
    assert answer.dendrite.status_code == 200, answer.dendrite.status_message


def _signed(client: MinerClient) -> tuple[str, dict[str, str], bytes]:
    return client.signed_request(StageStatusSynapse(events_limit=1))


def _long_lines(miner: MinerRun) -> list[str]:
    return [line[:200] + "..." for line in miner.lines() if len(line) > LOG_LINE_LIMIT]


def test_a_request_head_over_64_kib_is_answered_431_and_no_log_line_is_the_request_s_length(
        miner: MinerRun, client: MinerClient) -> None:
    head = b"POST /StageStatusSynapse HTTP/1.1\r\nhost: 127.0.0.1\r\n"
    incomplete = exchange(miner.axon_port, head + b"x-pad: " + b"a" * 100_000)  # no end of head in sight
    complete = exchange(miner.axon_port, head + b"x-pad: " + b"a" * 100_000 + b"\r\ncontent-length: 0\r\n\r\n")
    for answer in (incomplete, complete):
        assert answer is not None and answer.status == 431, answer
        assert answer.message == "request head larger than 65536 bytes"
    # Under the limit, a malformed nonce of 50 KB with a terminal control code (0x9b, CSI, is legal in a header
    # value): bittensor logged every header of it.
    path, headers, body = _signed(client)
    headers["bt_header_dendrite_nonce"] = "\x9b31m" + "9z" * 25_000
    headers["x-pad"] = "b" * 8_000
    malformed = exchange(miner.axon_port, request_bytes(path, headers, body))
    assert malformed is not None and malformed.status == 400, malformed
    assert malformed.message.startswith("Improperly formatted request headers: dendrite.nonce")
    assert len(malformed.message) < 400
    validator_key = client.dendrite.keypair.ss58_address  # claimed in a header bittensor could not parse
    miner.wait_line(rf"Refused a request from {validator_key}: 400 malformed headers", timeout=10)
    _serving(client)
    assert _long_lines(miner) == []
    assert "\x9b" not in miner.log_path.read_text(encoding="utf-8", errors="replace")
    assert "bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb" not in miner.log()


def test_half_open_and_silent_connections_are_closed_after_the_read_timeout(miner: MinerRun) -> None:
    started = time.monotonic()
    with connect(miner.axon_port, timeout=READ_TIMEOUT_S + 10) as half, \
            connect(miner.axon_port, timeout=READ_TIMEOUT_S + 10) as silent:
        half.sendall(b"POST /StageStatusSynapse HTTP/1.1\r\nhost: 127.0.0.1\r\nx-slow: ")
        answer = read_answer(half)
        assert answer is not None and answer.status == 408, answer
        assert answer.message == f"request not completed within {READ_TIMEOUT_S} s"
        assert closed_by_server(half)
        assert closed_by_server(silent)  # connected and sent nothing: closed without an answer
    # Closed by the timeout, not at once (a coarse bound: the machine is shared).
    assert time.monotonic() - started > READ_TIMEOUT_S - 1


def test_an_idle_kept_alive_connection_serves_the_next_request_until_the_keep_alive_ends(
        miner: MinerRun, client: MinerClient) -> None:
    with connect(miner.axon_port, timeout=KEEP_ALIVE_S + 10) as sock:
        sock.sendall(request_bytes(*_signed(client)))
        first = read_answer(sock)
        assert first is not None and first.status == 200, first
        time.sleep(KEEP_ALIVE_S - 1)  # idle, less than the keep-alive (and longer than bittensor's 5 s)
        sock.sendall(request_bytes(*_signed(client)))
        second = read_answer(sock)
        assert second is not None and second.status == 200, second
        assert closed_by_server(sock)  # idle for longer than the keep-alive now: the miner closes it


def test_connections_over_the_cap_are_answered_503_and_the_miner_serves_again_after(
        miner: MinerRun, client: MinerClient) -> None:
    extra = 10
    sockets = [connect(miner.axon_port, timeout=READ_TIMEOUT_S + 10) for _ in range(MAX_CONNECTIONS + extra)]
    try:
        answers = [read_answer(sock) for sock in sockets]  # the accepted ones: closed silently after the timeout
    finally:
        for sock in sockets:
            sock.close()
    refused = [answer for answer in answers if answer is not None]
    assert len(refused) >= extra  # connections the miner held already (other clients) only add to them
    assert {(answer.status, answer.message) for answer in refused} == {
        (503, f"more than {MAX_CONNECTIONS} connections at once")}
    told = miner.wait_line(r"503 too many connections")
    assert "WARNING" in miner.lines()[told], "load, not an error of the miner's"
    wait_for(lambda: run(client.status()).dendrite.status_code == 200, timeout=20, interval=0.5,
             what="the miner to serve again")


def test_malformed_bodies_with_a_valid_signature_get_400_422_or_415_with_the_reason(
        miner: MinerRun, client: MinerClient) -> None:
    url = f"http://127.0.0.1:{miner.axon_port}"
    cases = [
        (b"{not json", {}, 422, "the body is not valid JSON: Expecting property name"),
        (b"[1, 2]", {}, 422, "the body must be a JSON object, got list"),
        (json.dumps({"events_limit": "many"}).encode(), {}, 422,
         "the body is not a valid StageStatusSynapse: events_limit: Input should be a valid integer"),
        (json.dumps({"events_limit": 7}).encode(), {}, 400,
         "the body is not the one whose hash was signed (computed_body_hash)"),
        (b"", {}, 422, "the body is not valid JSON"),
        (b"\xff\xfe not json {{{", {}, 422, "the body is not valid JSON"),  # not UTF-8
        (b'{"events_limit":' + b"[" * 5000 + b"]" * 5000 + b"}", {}, 422, "the body is not valid JSON"),
        (b"{}", {"content-type": "text/plain"}, 415, "content-type must be application/json"),
    ]
    with httpx.Client(timeout=15) as http:
        for body, changed, status, reason in cases:
            path, headers, _ = _signed(client)
            answer = http.post(url + path, headers={**headers, **changed}, content=body)
            assert answer.status_code == status, (body, answer.status_code, answer.text)
            assert answer.json()["message"].startswith(reason), answer.text
    _serving(client)
    assert "Traceback" not in miner.log()


def test_parallel_requests_from_one_dendrite_are_all_served_and_a_replay_is_refused(
        miner: MinerRun, client: MinerClient) -> None:
    parallel = MinerClient(mock_keys(miner.data_dir).validator, client.target)  # a Dendrite of its own

    async def hundred() -> list[int]:
        answers = await asyncio.gather(*(parallel.status(events_limit=1, timeout=60) for _ in range(100)))
        return [int(answer.dendrite.status_code or 0) for answer in answers]

    assert run(hundred()) == [200] * 100
    run(parallel.close())

    url = f"http://127.0.0.1:{miner.axon_port}"
    with httpx.Client(timeout=15) as http:
        older, newer = _signed(client), _signed(client)
        # Arriving in the opposite order of their nonces, as parallel requests may: bittensor's
        # strictly increasing nonces refused the older one with 401 "Nonce is too old".
        for path, headers, body in (newer, older):
            answer = http.post(url + path, headers=headers, content=body)
            assert answer.status_code == 200, answer.text
        replay = http.post(url + older[0], headers=older[1], content=older[2])
        assert replay.status_code == 401
        assert replay.json()["message"] == "Not Verified with error: Nonce already used: the request is a replay"

        path, headers, body = _signed(client)
        stale = _resigned(client, headers, nonce=time.time_ns() - 120 * 10**9)
        answer = http.post(url + path, headers=stale, content=body)
        assert answer.status_code == 401 and "Nonce is too old" in answer.json()["message"], answer.text
        ahead = _resigned(client, headers, nonce=time.time_ns() + 600 * 10**9)
        answer = http.post(url + path, headers=ahead, content=body)
        assert answer.status_code == 401 and "ahead of the miner's clock" in answer.json()["message"], answer.text


def _resigned(client: MinerClient, headers: dict[str, str], *, nonce: int) -> dict[str, str]:
    """`headers` with another nonce, signed as the dendrite signs (so only the nonce is wrong)."""
    keypair = client.dendrite.keypair
    message = (f"{nonce}.{headers['bt_header_dendrite_hotkey']}.{headers['bt_header_axon_hotkey']}."
               f"{headers['bt_header_dendrite_uuid']}.{headers['computed_body_hash']}")
    return {**headers, "bt_header_dendrite_nonce": str(nonce),
            "bt_header_dendrite_signature": f"0x{keypair.sign(message).hex()}"}


def test_refused_requests_are_logged_once_per_caller_and_reason_then_as_a_count(
        miner: MinerRun, client: MinerClient, tmp_path: Path) -> None:
    stranger_wallet = bt.Wallet(name="stranger", hotkey="default", path=str(tmp_path / "wallets"))
    stranger_wallet.create_if_non_existent(coldkey_use_password=False, hotkey_use_password=False, suppress=True)
    stranger = MinerClient(stranger_wallet, client.target)
    stranger_key = stranger_wallet.hotkey.ss58_address
    validator_key = client.dendrite.keypair.ss58_address
    count = 30
    refused = [(stranger.signed_request(StageStatusSynapse()), 403) for _ in range(count)]
    for _ in range(count):
        path, headers, body = _signed(client)
        refused.append(((path, {**headers, "bt_header_dendrite_signature": "0x" + "ab" * 64}, body), 401))
    first_line = len(miner.lines())
    url = f"http://127.0.0.1:{miner.axon_port}"
    with httpx.Client(timeout=15) as http:
        for (path, headers, body), status in refused:
            assert http.post(url + path, headers=headers, content=body).status_code == status
    for key in (f"from {stranger_key}: 403 hotkey is not registered on the subnet",
                f"from {validator_key}: 401 bad signature: Signature mismatch"):
        def counted(key: str = key) -> list[str] | None:
            about = [line for line in miner.lines()[first_line:] if line.endswith(key)]
            more = [re.search(r"Refused (\d+) more requests? in \d+ s from", line) for line in about[1:]]
            return about if sum(int(m.group(1)) for m in more if m) == count - 1 else None

        about = wait_for(counted, timeout=REFUSAL_INTERVAL_S + 20, what=f"the count of refusals {key}")
        assert "WARNING" in about[0] and about[0].endswith(f"Refused a request {key}"), about
        # At most one line per interval (a coarse check: the lines' seconds).
        times = [time.mktime(time.strptime(line[:19], "%Y-%m-%d %H:%M:%S")) for line in about]
        assert all(later - earlier >= REFUSAL_INTERVAL_S - 1 for earlier, later in zip(times, times[1:], strict=False))
    new_lines = miner.lines()[first_line:]
    assert not [line for line in new_lines if "ERROR" in line]
    run(stranger.close())


def test_an_input_header_bittensor_cannot_use_is_refused_400_and_never_logged_whole(
        miner: MinerRun, client: MinerClient) -> None:
    """bittensor logs an ERROR line with the whole header name for an unusable `bt_header_input_obj_*`
    header: the gate refuses it first, counted with the other refusals; no line carries the name."""
    url = f"http://127.0.0.1:{miner.axon_port}"
    name = "bt_header_input_obj_" + "x" * 40_000
    with httpx.Client(timeout=15) as http:
        for bad in ({name: "e30="}, {"bt_header_input_obj_events_limit": "not base64 json"},
                    {"bt_header_input_obj_username": "e30=" + "!" * 10}):
            for _ in range(5):
                path, headers, body = _signed(client)
                answer = http.post(url + path, headers={**headers, **bad}, content=body)
                assert answer.status_code == 400, answer.text
                assert "input header" in answer.json()["message"], answer.text
    _serving(client)
    assert _long_lines(miner) == []
    assert "Error while parsing 'input_obj' header" not in miner.log()
    assert "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx" not in miner.log()
