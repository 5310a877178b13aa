#!/usr/bin/env python3
"""Benchmark the stage tracker: call latency, lost events, torn reads, transition-to-log latency.

    python scripts/bench_tracker.py [--calls 1000] [--writers 8] [--rate 100] [--data-dir DIR]

Writers are separate processes (fresh interpreters) calling `stage_start`/`stage_complete` on one
stage log; `--rate` paces each writer (calls per second, jittered) like a busy pipeline, and a
second run repeats the measurement with no pacing at all (every writer in a tight loop) as the
worst case. A reader process parses the status file (the JSON snapshot) as fast as it can meanwhile
and counts reads that are not valid JSON (torn). Lost and duplicated events are counted in the
stage log after the run, and every transition must reach the reporter's log exactly once.
"""

from __future__ import annotations

import argparse
import json
import multiprocessing as mp
import random
import statistics
import tempfile
import time
from pathlib import Path

from content_miner.tracker import MinerStageReporter, MinerStageTracker  # noqa: E402


def _writer(status: str, index: int, calls: int, rate: float, start_at: float, out: str) -> None:
    tracker = MinerStageTracker(status, source=f"writer{index}")
    rng = random.Random(index)
    latencies = []
    while time.time() < start_at:
        time.sleep(0.001)
    for i in range(calls):
        stage = i % 8
        call = tracker.stage_start if i % 2 == 0 else tracker.stage_complete
        began = time.perf_counter()
        call(stage, f"bench event {i}", username=f"acct{index}", details={"writer": index, "i": i})
        latencies.append(time.perf_counter() - began)
        if rate > 0:
            time.sleep(rng.expovariate(rate))
    tracker.close(5.0)
    Path(out).write_text(json.dumps({"latencies": latencies, "stats": tracker.stats()}))


def _reader(status: str, stop_at: float, out: str) -> None:
    reads = torn = 0
    path = Path(status)
    while time.time() < stop_at:
        try:
            data = path.read_bytes()
        except FileNotFoundError:
            continue
        reads += 1
        try:
            json.loads(data)
        except ValueError:
            torn += 1
    Path(out).write_text(json.dumps({"reads": reads, "torn": torn}))


class _CountingLog:
    def __init__(self) -> None:
        self.lines: list[tuple[float, str]] = []

    def info(self, msg: str) -> None:
        self.lines.append((time.time(), msg))

    warning = error = info


def _pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def run_writers(root: Path, writers: int, calls: int, rate: float) -> dict:
    status = root / f"w{writers}-r{rate}" / "miner_status.json"
    status.parent.mkdir(parents=True)
    tracker = MinerStageTracker(status, source="bench")
    log = _CountingLog()
    reporter = MinerStageReporter(tracker, log)
    reporter.start_monitoring(check_interval=0.2)
    ctx = mp.get_context("spawn")
    start_at = time.time() + 1.5  # let every interpreter start before the clock runs
    outs = [str(status.parent / f"lat{i}.json") for i in range(writers)]
    procs = [ctx.Process(target=_writer, args=(str(status), i, calls, rate, start_at, outs[i]))
             for i in range(writers)]
    reader_out = str(status.parent / "reader.json")
    expected_s = calls / rate * 1.2 if rate > 0 else calls * writers / 2000
    reader = ctx.Process(target=_reader, args=(str(status), start_at + expected_s + 1, reader_out))
    for proc in (*procs, reader):
        proc.start()
    for proc in (*procs, reader):
        proc.join()
    reporter.stop_monitoring()
    latencies, stats = [], []
    for out in outs:
        result = json.loads(Path(out).read_text())
        latencies += result["latencies"]
        stats.append(result["stats"])
    rows = [(e["details"]["writer"], e["details"]["i"]) for e in tracker.read_events(limit=10**7)
            if isinstance(e["details"], dict) and "writer" in e["details"]]
    stored = set(rows)
    reader_result = json.loads(Path(reader_out).read_text())
    logged = [msg for _, msg in log.lines if "bench event" in msg]
    return {
        "median_ms": statistics.median(latencies) * 1000,
        "p99_ms": _pct(latencies, 0.99) * 1000,
        "max_ms": max(latencies) * 1000,
        "calls": len(latencies),
        "lost": writers * calls - len(stored),
        "duplicated": len(rows) - len(stored),
        "dropped_by_writers": sum(s["dropped"] for s in stats),
        "spilled": sum(s["spilled"] for s in stats),
        "lock_timeouts": sum(s["busy"] for s in stats),
        "reads": reader_result["reads"],
        "torn": reader_result["torn"],
        "logged": len(logged),
        "logged_unique": len(set(logged)),
        "missed_warnings": reporter.missed,
    }


def transition_latency(root: Path, interval: float, transitions: int) -> list[float]:
    status = root / "latency" / "miner_status.json"
    status.parent.mkdir(parents=True)
    tracker = MinerStageTracker(status, source="bench")
    log = _CountingLog()
    reporter = MinerStageReporter(tracker, log)
    reporter.start_monitoring(check_interval=interval)
    writer = MinerStageTracker(status, source="latency")
    rng = random.Random(7)
    written: dict[str, float] = {}
    for i in range(transitions):
        time.sleep(rng.uniform(0.05, interval * 1.3))
        message = f"transition {i}"
        written[message] = time.time()
        writer.stage_start(i % 8, message)
    deadline = time.time() + interval + 2
    while len(log.lines) < transitions and time.time() < deadline:
        time.sleep(0.01)
    reporter.stop_monitoring()
    delays = []
    for logged_at, line in log.lines:
        for message, at in written.items():
            if line.endswith(": " + message):
                delays.append(logged_at - at)
    return delays


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--calls", type=int, default=1000, help="calls per writer")
    parser.add_argument("--writers", type=int, default=8)
    parser.add_argument("--rate", type=float, default=100.0, help="calls/s per paced writer")
    parser.add_argument("--interval", type=float, default=1.0, help="reporter check_interval")
    parser.add_argument("--data-dir", type=Path, default=None)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="bench-tracker-") as tmp:
        root = args.data_dir or Path(tmp)
        print(f"stage tracker benchmark: {args.calls} calls per writer, one SQLite stage log")
        header = (
            f"{'case':<34}{'median ms':>10}{'p99 ms':>9}{'max ms':>9}"
            f"{'lost':>6}{'dup':>5}{'torn':>6}{'reads':>7}{'logged':>8}"
        )
        print(header)
        for writers, rate in ((1, args.rate), (args.writers, args.rate), (1, 0.0), (args.writers, 0.0)):
            label = f"{writers} writer(s), " + (f"{rate:g} calls/s each" if rate else "tight loop")
            r = run_writers(root, writers, args.calls, rate)
            print(f"{label:<34}{r['median_ms']:>10.3f}{r['p99_ms']:>9.2f}{r['max_ms']:>9.1f}"
                  f"{r['lost']:>6}{r['duplicated']:>5}{r['torn']:>6}{r['reads']:>7}{r['logged']:>8}"
                  + (f"  (lock timeouts {r['lock_timeouts']}, spilled {r['spilled']}, reporter missed "
                     f"{r['missed_warnings']}, duplicate lines {r['logged'] - r['logged_unique']})"))
        delays = transition_latency(root, args.interval, 20)
        print(f"transition-to-log latency, check_interval={args.interval:g}s: "
              f"median {statistics.median(delays) * 1000:.0f} ms, max {max(delays) * 1000:.0f} ms "
              f"({len(delays)}/20 transitions logged)")


if __name__ == "__main__":
    main()
