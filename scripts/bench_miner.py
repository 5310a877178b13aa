"""Benchmark the miner: its own RSS (without the modules), stage-status query latency over the
axon on loopback, and 100 concurrent status queries (all must succeed).

    .venv/bin/python scripts/bench_miner.py [--queries 300] [--concurrent 100] [--accounts 0]

`--accounts N` first writes N accounts' stages into the stage log (as Module 1 would have), so the
status answers are measured with that many accounts: a first page (50 entries), and the walk over
every page, with their sizes on the wire.

Starts `python -m content_miner.neuron --mock --no_sample` in a temporary data directory, queries it with the
mock validator's wallet, stops it with SIGTERM. Targets: RSS <= 300 MB, p50 <= 20 ms.
"""

from __future__ import annotations

import os
import sys

sys.dont_write_bytecode = True
os.environ.setdefault("READ_ONLY", "1")

import argparse  # noqa: E402
import asyncio  # noqa: E402
import signal  # noqa: E402
import statistics  # noqa: E402
import tempfile  # noqa: E402
import time  # noqa: E402
from pathlib import Path  # noqa: E402

import psutil  # noqa: E402

from _running import announced, start  # noqa: E402
from content_miner.neuron.miner_client import MinerClient, axon_info, mock_keys  # noqa: E402

RSS_TARGET_MB = 300
P50_TARGET_MS = 20


def seed_accounts(data: Path, count: int) -> None:
    """`count` accounts through Stages 1-7 in the stage log, the last one's Stage 3 still running."""
    from content_miner.tracker import MinerStageTracker

    tracker = MinerStageTracker(data / "miner_status.json", source="module1")
    for number in range(count):
        name = f"account{number:05d}"
        for stage in range(1, 8 if number < count - 1 else 4):
            tracker.stage_start(stage, "working", name)
            if stage < 3 or number < count - 1:
                tracker.stage_complete(stage, "done", name, {"items": 100})
    assert tracker.flush(60.0), "the stage log took too long"


async def walk_pages(client: MinerClient) -> dict[str, float]:
    """The first page alone, and every page in turn: milliseconds and bytes of the answers."""
    started = time.perf_counter()
    first = await client.status(events_limit=20)
    first_ms = (time.perf_counter() - started) * 1000
    first_bytes = len(first.model_dump_json())
    pages, total_bytes, cursor = 0, 0, ""
    started = time.perf_counter()
    while True:
        answer = await client.status(events_limit=0, limit=200, cursor=cursor)
        assert answer.dendrite.status_code == 200, answer.dendrite.status_message
        pages += 1
        total_bytes += len(answer.model_dump_json())
        if not answer.next_cursor:
            break
        cursor = answer.next_cursor
    return {"first_ms": first_ms, "first_kb": first_bytes / 1024, "entries": float(first.total or 0),
            "pages": pages, "all_ms": (time.perf_counter() - started) * 1000, "all_kb": total_bytes / 1024}


async def measure(client: MinerClient, queries: int, concurrent: int) -> dict[str, float]:
    for _ in range(10):  # warm-up: connections, first-call imports
        await client.status(events_limit=20)
    latencies = []
    for _ in range(queries):
        started = time.perf_counter()
        answer = await client.status(events_limit=20)
        latencies.append((time.perf_counter() - started) * 1000)
        assert answer.dendrite.status_code == 200, answer.dendrite.status_message
    latencies.sort()
    started = time.perf_counter()
    answers = await asyncio.gather(*(client.status(events_limit=20) for _ in range(concurrent)))
    burst_s = time.perf_counter() - started
    ok = sum(answer.dendrite.status_code == 200 for answer in answers)
    return {"p50": statistics.median(latencies), "p99": latencies[int(len(latencies) * 0.99) - 1],
            "max": latencies[-1], "concurrent_ok": ok, "concurrent_s": burst_s}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--queries", type=int, default=300)
    parser.add_argument("--concurrent", type=int, default=100)
    parser.add_argument("--accounts", type=int, default=0, help="accounts in the stage log before the start")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="bench-miner-") as tmp:
        data = Path(tmp) / "data"
        data.mkdir()
        if args.accounts:
            seed_accounts(data, args.accounts)
        miner = start(["-m", "content_miner.neuron", "--mock", "--no_sample", "--data-dir", str(data),
                       "--axon.port", "0", "--module2.port", "0", "--metrics.port", "0",
                       "--blacklist.burst", str(args.concurrent + 50),
                       "--blacklist.requests_per_minute", "1000000"], Path(tmp) / "miner.log")
        try:
            axon_port = announced(data, "miner", "axon_port", miner)
            announced(data, "module2", "port", miner)
            keys = mock_keys(data)
            client = MinerClient(keys.validator, axon_info(keys.miner_hotkey, keys.miner_coldkey, "127.0.0.1",
                                                           axon_port))
            loop = asyncio.new_event_loop()
            figures = loop.run_until_complete(measure(client, args.queries, args.concurrent))
            paged = loop.run_until_complete(walk_pages(client))
            loop.run_until_complete(client.close())
            rss_mb = psutil.Process(miner.pid).memory_info().rss / 2**20
            modules_mb = sum(child.memory_info().rss for child in psutil.Process(miner.pid).children(recursive=True))
            modules_mb /= 2**20
            started = time.monotonic()
            miner.send_signal(signal.SIGTERM)
            code = miner.wait(timeout=15)
            stop_s = time.monotonic() - started
        finally:
            if miner.poll() is None:
                miner.kill()
    print(f"miner RSS (without modules): {rss_mb:.0f} MB (target <= {RSS_TARGET_MB}); modules: {modules_mb:.0f} MB")
    print(f"stage-status query over the axon, {args.queries} sequential: p50 {figures['p50']:.1f} ms "
          f"(target <= {P50_TARGET_MS}), p99 {figures['p99']:.1f} ms, max {figures['max']:.1f} ms")
    print(f"{args.concurrent} concurrent status queries: {figures['concurrent_ok']:.0f}/{args.concurrent} OK "
          f"in {figures['concurrent_s']:.2f} s")
    print(f"status with {paged['entries']:.0f} entries: first page (50) {paged['first_ms']:.1f} ms, "
          f"{paged['first_kb']:.1f} KB; all {paged['pages']:.0f} pages of 200: {paged['all_ms']:.0f} ms, "
          f"{paged['all_kb']:.0f} KB")
    print(f"SIGTERM: exit code {code} after {stop_s:.2f} s")
    good = (rss_mb <= RSS_TARGET_MB and figures["p50"] <= P50_TARGET_MS
            and figures["concurrent_ok"] == args.concurrent and code == 0)
    return 0 if good else 1


if __name__ == "__main__":
    sys.exit(main())
