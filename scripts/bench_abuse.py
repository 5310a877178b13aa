"""Benchmark the miner's axon under hostile traffic, on loopback only, bounded in count and time.

    .venv/bin/python scripts/bench_abuse.py [--queries 200] [--half-open 300] [--flooders 4]
                                            [--parallel 100] [--rounds 3] [--refused 200]

Starts `python -m content_miner.neuron --mock --no_sample` in a temporary data directory (any extra
miner flags after `--`) and measures:
- an honest validator's stage-status latency (p50/p99): with nothing else, while 300 connections hold
  half a request each, while clients send 1 MB request heads (non-numeric nonce) without pause (clients
  that wait for each answer, then clients that never wait: they give up on a send blocked for 50 ms), and
  (a control) while the same clients flood another process on the machine instead. The flood comes from
  another loopback address than the honest validator's (FLOOD_SOURCE, 127.0.0.2; Linux routes all of
  127.0.0.0/8 to lo), as an attacker on a real subnet shares no address with a validator: the miner cools
  down an address that keeps sending heads over the limit (--axon.head_strikes), never the validator's;
- how many of the half-open connections the miner closed, and when;
- 100 parallel requests from one Dendrite, several rounds: answers by status (false 401, 503);
- two signed requests sent in the opposite order of their nonces, and one sent twice (the replay);
- refused requests (403 unregistered, 401 bad signature, 400 malformed header, malformed body with a
  valid signature): status, miner CPU and log bytes per request.
Targets: 0 false 401, 0 503 at 100 parallel, honest p99 under attack (half-open connections, the flood
of clients that wait) <= 2x the quiet p99, <= 300 log bytes per refused request. The flood of clients
that never wait is printed beside the same flood at a process that resets every connection at once:
on loopback it runs at gigabytes a second, and its cost is the machine's, not the miner's. Module 1's
memory is measured by its own benchmark, not here.
"""

from __future__ import annotations

import os
import sys

sys.dont_write_bytecode = True
os.environ.setdefault("READ_ONLY", "1")

import argparse  # noqa: E402
import asyncio  # noqa: E402
import json  # noqa: E402
import select  # noqa: E402
import signal  # noqa: E402
import socket  # noqa: E402
import statistics  # noqa: E402
import subprocess  # noqa: E402
import tempfile  # noqa: E402
import threading  # noqa: E402
import time  # noqa: E402
from collections import Counter  # noqa: E402
from collections.abc import Callable  # noqa: E402
from pathlib import Path  # noqa: E402

import bittensor as bt  # noqa: E402
import httpx  # noqa: E402
import psutil  # noqa: E402

from _running import announced, start  # noqa: E402
from content_miner.neuron.miner_client import MinerClient, axon_info, mock_keys  # noqa: E402
from content_miner_protocol import StageStatusSynapse  # noqa: E402

HOST = "127.0.0.1"
P99_FACTOR = 2.0
LOG_BYTES_TARGET = 300
HALF_OPEN_WATCH_S = 20.0  # how long the closing of half-open connections is watched
FLOOD_HEAD_BYTES = 1_000_000
FLOOD_SOURCE = "127.0.0.2"  # the flood's address: not the honest validator's (HOST)
IMPATIENT_SEND_S = 0.05


def percentiles(latencies: list[float]) -> tuple[float, float]:
    ordered = sorted(latencies)
    return statistics.median(ordered), ordered[max(0, int(len(ordered) * 0.99) - 1)]


def status_of(response: bytes) -> str:
    """The status code of a raw HTTP response, or what happened instead."""
    if not response:
        return "closed"
    parts = response.split(b" ", 2)
    return parts[1].decode("ascii", "replace") if len(parts) > 1 else "garbage"


def raw_exchange(port: int, data: bytes, timeout: float = 10.0, source: str | None = None) -> str:
    """Send `data` on a new connection (from address `source`, if given) and return the answer's status
    (or `reset`/`timeout`)."""
    try:
        with socket.create_connection((HOST, port), timeout=timeout,
                                      source_address=(source, 0) if source else None) as sock:
            sock.sendall(data)
            return status_of(sock.recv(4096))
    except (ConnectionResetError, BrokenPipeError):
        return "reset"
    except TimeoutError:
        return "timeout"
    except OSError as err:
        return type(err).__name__


class Miner:
    def __init__(self, tmp: Path, extra: list[str]) -> None:
        self.data = tmp / "data"
        self.data.mkdir()
        self.log = tmp / "miner.log"
        self.process = start(["-m", "content_miner.neuron", "--mock", "--no_sample", "--data-dir", str(self.data),
                              "--axon.port", "0", "--module2.port", "0", "--metrics.port", "0",
                              "--blacklist.requests_per_minute", "1000000", "--blacklist.burst", "100000", *extra],
                             self.log)
        self.port = announced(self.data, "miner", "axon_port", self.process)
        announced(self.data, "module2", "port", self.process)
        self.keys = mock_keys(self.data)
        self.ps = psutil.Process(self.process.pid)

    def client(self) -> MinerClient:
        return MinerClient(self.keys.validator, axon_info(self.keys.miner_hotkey, self.keys.miner_coldkey, HOST,
                                                          self.port))

    def log_bytes(self) -> int:
        return self.log.stat().st_size

    def cpu_s(self) -> float:
        times = self.ps.cpu_times()
        return times.user + times.system

    def stop(self) -> int:
        self.process.send_signal(signal.SIGTERM)
        try:
            return self.process.wait(timeout=15)
        except Exception:
            self.process.kill()
            return -9


async def honest_latencies(client: MinerClient, count: int) -> tuple[list[float], Counter[int]]:
    latencies: list[float] = []
    codes: Counter[int] = Counter()
    for _ in range(count):
        started = time.perf_counter()
        answer = await client.status(events_limit=20)
        latencies.append((time.perf_counter() - started) * 1000)
        codes[int(answer.dendrite.status_code or 0)] += 1
    return latencies, codes


def half_open(port: int, count: int) -> list[socket.socket]:
    head = (f"POST /StageStatusSynapse HTTP/1.1\r\nHost: {HOST}\r\ncontent-type: application/json\r\n"
            "x-slow: ").encode()
    sockets = []
    for _ in range(count):
        sock = socket.create_connection((HOST, port), timeout=5)
        sock.sendall(head)
        sockets.append(sock)
    return sockets


class ClosingWatch:
    """Watches `sockets` in a thread: when the server answered or closed each (it gave up on it)."""

    def __init__(self, sockets: list[socket.socket], deadline_s: float) -> None:
        self.sockets = sockets
        self.deadline_s = deadline_s
        self.started = time.monotonic()
        self.closed_after: list[float] = []
        self.thread = threading.Thread(target=self._run, daemon=True)
        self.thread.start()

    def _run(self) -> None:
        waiting = set(self.sockets)
        while waiting and time.monotonic() - self.started < self.deadline_s:
            ready, _, _ = select.select(list(waiting), [], [], 0.2)
            for sock in ready:
                waiting.discard(sock)
                self.closed_after.append(time.monotonic() - self.started)

    def result(self) -> tuple[int, float]:
        self.thread.join(timeout=self.deadline_s + 1)
        return len(self.closed_after), max(self.closed_after, default=0.0)


def hit_and_run(port: int, data: bytes, source: str) -> str:
    """Send `data` on a new connection from `source`, giving up on any send that blocks for 50 ms, and close it
    without reading: what becomes of the send (`sent`, `reset`, `stalled`)."""
    try:
        with socket.create_connection((HOST, port), timeout=1.0, source_address=(source, 0)) as sock:
            sock.settimeout(IMPATIENT_SEND_S)
            sock.sendall(data)
            return "sent"
    except (ConnectionResetError, BrokenPipeError):
        return "reset"
    except TimeoutError:
        return "stalled"
    except OSError:
        return "error"


def flood_worker(port: int, hotkey: str, threads: int, max_s: float, limit: int, patient: bool) -> None:
    """Run by a child process (its own GIL: the flood must not slow down the measuring client here):
    threads sending 1 MB request heads with a non-numeric nonce, one connection each from FLOOD_SOURCE,
    until stdin is closed, `max_s` passed or `limit` requests were sent; then the answers as JSON on
    stdout. `patient` clients wait for each answer (10 s at most); the others give up on a send blocked
    for 50 ms and never read (what a connection held unread costs them: nothing)."""
    pad = "".join(f"x-pad-{i}: {'a' * 8000}\r\n" for i in range(FLOOD_HEAD_BYTES // 8012))
    request = (f"POST /StageStatusSynapse HTTP/1.1\r\nHost: {HOST}\r\ncontent-type: application/json\r\n"
               f"bt_header_dendrite_nonce: not-a-number\r\nbt_header_dendrite_hotkey: {hotkey}\r\n"
               f"{pad}content-length: 2\r\n\r\n{{}}").encode()
    stopped = threading.Event()
    answers: Counter[str] = Counter()
    lock = threading.Lock()
    deadline = time.monotonic() + max_s

    def run() -> None:
        while not stopped.is_set() and time.monotonic() < deadline:
            with lock:
                if sum(answers.values()) >= limit:
                    return
            answer = raw_exchange(port, request, timeout=10, source=FLOOD_SOURCE) if patient \
                else hit_and_run(port, request, FLOOD_SOURCE)
            with lock:
                answers[answer] += 1

    workers = [threading.Thread(target=run, daemon=True) for _ in range(threads)]
    for worker in workers:
        worker.start()
    def stop_on_eof() -> None:
        sys.stdin.read()
        stopped.set()

    threading.Thread(target=stop_on_eof, daemon=True).start()
    for worker in workers:
        worker.join()
    print(json.dumps(dict(answers)))


def control_server(kind: str) -> None:
    """Run by a child process: a server that answers every connection 431 after reading up to 64 KiB, as the
    miner does with a flood request (`answer`), or that resets every connection as soon as it is accepted
    (`reset`: the least any server can do). The same flood aimed at it shows what the flood costs the honest
    validator through the machine's CPU alone (attacker, kernel, server share 2 cores), whatever the miner does."""
    answer = b"HTTP/1.1 431 Request Header Fields Too Large\r\ncontent-length: 0\r\nconnection: close\r\n\r\n"

    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        if kind == "reset":
            writer.transport.abort()
            return
        try:
            await reader.read(65537)
            writer.write(answer)
        except OSError:
            pass
        writer.close()

    async def serve() -> None:
        server = await asyncio.start_server(handle, HOST, 0, backlog=2048)
        print(server.sockets[0].getsockname()[1], flush=True)
        await asyncio.get_running_loop().run_in_executor(None, sys.stdin.read)  # until the parent closes stdin
        server.close()

    asyncio.run(serve())


class Control:
    """A control server (`control_server`) in a child process, for the duration of a `with` block: its port."""

    def __init__(self, kind: str) -> None:
        self.child = subprocess.Popen([sys.executable, __file__, "--control-server", kind], stdin=subprocess.PIPE,
                                      stdout=subprocess.PIPE, text=True)

    def __enter__(self) -> int:
        assert self.child.stdout is not None
        return int(self.child.stdout.readline())

    def __exit__(self, *exc: object) -> None:
        self.child.communicate(timeout=30)


class Flood:
    """The flood in a child process, for the duration of a `with` block."""

    def __init__(self, port: int, hotkey: str, threads: int, max_s: float = 300, limit: int = 100_000, *,
                 patient: bool = True) -> None:
        self.argv = [sys.executable, __file__, "--flood-worker", str(port), hotkey, str(threads), str(max_s),
                     str(limit), "patient" if patient else "impatient"]
        self.answers: Counter[str] = Counter()

    def __enter__(self) -> Flood:
        self.child = subprocess.Popen(self.argv, stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
        return self

    def __exit__(self, *exc: object) -> None:
        out, _ = self.child.communicate(timeout=60)  # closes its stdin: the flood stops
        self.answers = Counter(json.loads(out or "{}"))

    @property
    def sent(self) -> int:
        return sum(self.answers.values())


async def parallel_rounds(client: MinerClient, parallel: int, rounds: int, gap_s: float) -> dict[str, object]:
    codes: Counter[str] = Counter()
    latencies: list[float] = []

    async def one() -> None:
        started = time.perf_counter()
        answer = await client.status(events_limit=5, timeout=30)
        latencies.append((time.perf_counter() - started) * 1000)
        message = (answer.dendrite.status_message or "")[:40]
        codes[f"{answer.dendrite.status_code} {message}" if answer.dendrite.status_code != 200 else "200"] += 1

    for index in range(rounds):
        await asyncio.gather(*(one() for _ in range(parallel)))
        if index < rounds - 1:
            await asyncio.sleep(gap_s)
    p50, p99 = percentiles(latencies)
    return {"codes": codes, "p50": p50, "p99": p99}


def order_and_replay(miner: Miner) -> dict[str, str]:
    client = miner.client()
    url = f"http://{HOST}:{miner.port}"
    results = {}
    with httpx.Client(timeout=15) as http:
        first = client.signed_request(StageStatusSynapse(events_limit=1))
        second = client.signed_request(StageStatusSynapse(events_limit=1))
        for name, (path, headers, body) in [("newer nonce first", second), ("older nonce second", first)]:
            results[name] = str(http.post(url + path, headers=headers, content=body).status_code)
        path, headers, body = client.signed_request(StageStatusSynapse(events_limit=1))
        results["request"] = str(http.post(url + path, headers=headers, content=body).status_code)
        results["same request again (replay)"] = str(http.post(url + path, headers=headers, content=body).status_code)
    return results


def refused_kinds(miner: Miner, tmp: Path) -> dict[str, Callable[[], tuple[str, dict[str, str], bytes]]]:
    client = miner.client()
    stranger_wallet = bt.Wallet(name="stranger", hotkey="default", path=str(tmp / "wallets"))
    stranger_wallet.create_if_non_existent(coldkey_use_password=False, hotkey_use_password=False, suppress=True)
    stranger = MinerClient(stranger_wallet, client.target)

    def unregistered() -> tuple[str, dict[str, str], bytes]:
        return stranger.signed_request(StageStatusSynapse(events_limit=1))

    def bad_signature() -> tuple[str, dict[str, str], bytes]:
        path, headers, body = client.signed_request(StageStatusSynapse(events_limit=1))
        signature = headers["bt_header_dendrite_signature"]
        headers["bt_header_dendrite_signature"] = signature[:-4] + ("0000" if signature[-4:] != "0000" else "1111")
        return path, headers, body

    def malformed_header() -> tuple[str, dict[str, str], bytes]:
        path, headers, body = client.signed_request(StageStatusSynapse(events_limit=1))
        headers["bt_header_dendrite_nonce"] = "not-a-number"
        return path, headers, body

    def malformed_body() -> tuple[str, dict[str, str], bytes]:
        path, headers, _ = client.signed_request(StageStatusSynapse(events_limit=1))
        return path, headers, json.dumps({"events_limit": "many"}).encode()

    return {"403 unregistered hotkey": unregistered, "401 bad signature": bad_signature,
            "malformed header (nonce)": malformed_header, "malformed body, valid signature": malformed_body}


def measure_refused(miner: Miner, make: Callable[[], tuple[str, dict[str, str], bytes]],
                    count: int) -> dict[str, object]:
    requests = [make() for _ in range(count)]  # signed before the clock starts: the client's cost is not the miner's
    codes: Counter[int] = Counter()
    log_before, cpu_before = miner.log_bytes(), miner.cpu_s()
    with httpx.Client(timeout=15) as http:
        for path, headers, body in requests:
            codes[http.post(f"http://{HOST}:{miner.port}{path}", headers=headers, content=body).status_code] += 1
    time.sleep(0.5)  # bittensor's log lines are written by a listener thread
    return {"codes": dict(codes), "cpu_ms": (miner.cpu_s() - cpu_before) * 1000 / count,
            "log_bytes": (miner.log_bytes() - log_before) / count}


def line(label: str, latencies: list[float], codes: Counter[int]) -> tuple[float, float]:
    p50, p99 = percentiles(latencies)
    others = {code: n for code, n in codes.items() if code != 200}
    print(f"  {label:<34} p50 {p50:7.1f} ms  p99 {p99:7.1f} ms  ({sum(codes.values())} queries"
          f"{', not 200: ' + str(others) if others else ''})")
    return p50, p99


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--queries", type=int, default=200, help="honest sequential queries per phase")
    parser.add_argument("--half-open", type=int, default=300)
    parser.add_argument("--flooders", type=int, default=4, help="threads sending 1 MB heads")
    parser.add_argument("--parallel", type=int, default=100)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--gap", type=float, default=5.0, help="seconds between parallel rounds")
    parser.add_argument("--refused", type=int, default=200, help="requests per kind of refusal")
    parser.add_argument("--flood-worker", nargs=6, metavar=("PORT", "HOTKEY", "THREADS", "MAX_S", "LIMIT", "KIND"),
                        help=argparse.SUPPRESS)
    parser.add_argument("--control-server", choices=("answer", "reset"), help=argparse.SUPPRESS)
    parser.add_argument("miner_flags", nargs="*", help="extra miner flags (after --)")
    args = parser.parse_args()
    if args.control_server:
        control_server(args.control_server)
        return 0
    if args.flood_worker:
        port, hotkey, threads, max_s, limit, kind = args.flood_worker
        flood_worker(int(port), hotkey, int(threads), float(max_s), int(limit), kind == "patient")
        return 0
    failures: list[str] = []
    with tempfile.TemporaryDirectory(prefix="bench-abuse-") as tmp_name:
        tmp = Path(tmp_name)
        miner = Miner(tmp, args.miner_flags)
        try:
            client = miner.client()
            loop = asyncio.new_event_loop()
            loop.run_until_complete(honest_latencies(client, 10))  # warm-up
            print(f"honest validator, {args.queries} sequential stage-status queries each:")
            quiet = line("quiet", *loop.run_until_complete(honest_latencies(client, args.queries)))

            sockets = half_open(miner.port, args.half_open)
            watch = ClosingWatch(sockets, HALF_OPEN_WATCH_S)
            try:
                under = line(f"with {args.half_open} half-open connections",
                             *loop.run_until_complete(honest_latencies(client, args.queries)))
                closed, last = watch.result()
            finally:
                for sock in sockets:
                    sock.close()
            half_open_note = (f"{closed}/{args.half_open} half-open connections closed by the miner within "
                              f"{HALF_OPEN_WATCH_S:g} s of opening")
            if closed:
                half_open_note += f" (the last after {last:.1f} s)"

            log_before = miner.log_bytes()
            with Flood(miner.port, miner.keys.validator.hotkey.ss58_address, args.flooders) as flood:
                flooded = line(f"under a 1 MB-header flood ({args.flooders} clients)",
                               *loop.run_until_complete(honest_latencies(client, args.queries)))
            with Flood(miner.port, miner.keys.validator.hotkey.ss58_address, args.flooders, patient=False) as hasty:
                hasty_flooded = line(f"under a flood of clients that never wait ({args.flooders})",
                                     *loop.run_until_complete(honest_latencies(client, args.queries)))
            time.sleep(0.5)
            flood_log = (miner.log_bytes() - log_before) / max(1, flood.sent + hasty.sent)
            with Control("answer") as control_port, \
                    Flood(control_port, miner.keys.validator.hotkey.ss58_address, args.flooders):
                line("the same flood at another process",
                     *loop.run_until_complete(honest_latencies(client, args.queries)))
            with Control("reset") as control_port, \
                    Flood(control_port, miner.keys.validator.hotkey.ss58_address, args.flooders, patient=False):
                hasty_control = line("never waiting, at a process resetting all",
                                     *loop.run_until_complete(honest_latencies(client, args.queries)))
            print(f"  {half_open_note}")
            print(f"  flood: {flood.sent} requests of {FLOOD_HEAD_BYTES / 1e6:g} MB heads from {FLOOD_SOURCE}, answers "
                  f"{dict(flood.answers)}; clients that never wait: {hasty.sent} sends {dict(hasty.answers)}; "
                  f"{flood_log:.0f} log bytes per request")

            parallel_client = miner.client()
            result = loop.run_until_complete(parallel_rounds(parallel_client, args.parallel, args.rounds, args.gap))
            loop.run_until_complete(parallel_client.close())
            codes = result["codes"]
            assert isinstance(codes, Counter)
            total = sum(codes.values())
            false_401 = sum(n for key, n in codes.items() if key.startswith("401"))
            unavailable = sum(n for key, n in codes.items() if key.startswith("503"))
            print(f"one Dendrite, {args.rounds} rounds of {args.parallel} parallel status queries "
                  f"({args.gap:g} s apart): p50 {result['p50']:.1f} ms, p99 {result['p99']:.1f} ms; "
                  f"answers {dict(codes)}")
            print(f"  false 401: {false_401}/{total}; 503: {unavailable}/{total}")
            print(f"signed requests over raw HTTP: {order_and_replay(miner)}")

            print(f"refused requests, {args.refused} of each kind (miner CPU and log per request):")
            log_per_refusal = [flood_log]
            for kind, make in refused_kinds(miner, tmp).items():
                figures = measure_refused(miner, make, args.refused)
                log_per_refusal.append(float(figures["log_bytes"]))  # type: ignore[arg-type]
                print(f"  {kind:<34} answers {figures['codes']}, {figures['cpu_ms']:.2f} ms CPU, "
                      f"{figures['log_bytes']:.0f} log bytes")
            loop.run_until_complete(client.close())
            loop.close()
        finally:
            code = miner.stop()
    worst_p99 = max(under[1], flooded[1])
    print(f"beyond the issue's flood: clients that never wait, p99 {hasty_flooded[1]:.1f} ms at the miner, "
          f"{hasty_control[1]:.1f} ms at a process that resets every connection (what the flood costs the "
          f"machine itself); not a target")
    print(f"targets: false 401 {false_401} (0), 503 {unavailable} (0), honest p99 under attack {worst_p99:.1f} ms "
          f"<= {P99_FACTOR:g} x quiet {quiet[1]:.1f} ms, log bytes per refused request {max(log_per_refusal):.0f} "
          f"(<= {LOG_BYTES_TARGET}); miner exit code {code}")
    if false_401:
        failures.append("false 401")
    if unavailable:
        failures.append("503 at parallel")
    if worst_p99 > P99_FACTOR * quiet[1]:
        failures.append("honest p99 under attack")
    if max(log_per_refusal) > LOG_BYTES_TARGET:
        failures.append("log bytes per refused request")
    print("all targets met" if not failures else f"missed: {', '.join(failures)}")
    return 0 if not failures else 1


if __name__ == "__main__":
    sys.exit(main())
