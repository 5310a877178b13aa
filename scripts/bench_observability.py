"""Benchmark the observability parts: /metrics scrape time, the history command, ETA error, stage_progress.

    .venv/bin/python scripts/bench_observability.py [--accounts 1000] [--scrapes 50] [--events 100000]
                                                     [--eta-accounts 300] [--progress-calls 20000]

1. /metrics: a stage log with `--accounts` accounts' runs (Module 1's stages 1-7, Module 2's rendering,
   some failures) is written into a temporary data directory; the real miner (`--mock`, its /metrics
   on a loopback port it announces) starts on it, processes the packaged sample account, and is then
   scraped `--scrapes` times over HTTP on 127.0.0.1, one connection each. Target: p50 <= 50 ms.
2. History: a stage log of `--events` events over the last 22 hours; `content-miner-status history
   --json` is run on it as a process, three times (and its query alone, in this process). Target <= 1 s.
3. ETA error: accounts replayed through the real tracker with a clock the script moves. Each stage's
   duration follows the real sample run's stage shape (each stage's share of the pipeline, measured in
   step 1) scaled to a median account of 5 minutes, times the account's size (log-normal, sigma 0.6; the
   post-bound stages 1-3 in proportion, the later ones less) and noise per stage (log-normal, sigma 0.2).
   At 25, 50 and 75 % of each stage of each account, `MinerStageTracker.live(now=...)` predicts the
   stage's and the pipeline's remaining time; the error is |predicted - actual| / actual. Reported for
   the accounts after the first MIN_HISTORY (before them the ETA is the definitions' guess), as the
   pipeline reported before (no progress), and as it reports now (progress in Stages 1 and 3, the size
   known at the start of Stages 2, 4 and 5, items on completion).
4. stage_progress: the cost of a call dropped by the throttle (one write a second per account) and of a
   call that writes.

Everything runs in temporary directories on loopback and stops by itself; the miner is stopped with
SIGTERM (killed with its modules if it does not stop).
"""

from __future__ import annotations

import os
import sys

sys.dont_write_bytecode = True
os.environ.setdefault("READ_ONLY", "1")

import argparse  # noqa: E402
import http.client  # noqa: E402
import json  # noqa: E402
import math  # noqa: E402
import random  # noqa: E402
import signal  # noqa: E402
import statistics  # noqa: E402
import subprocess  # noqa: E402
import tempfile  # noqa: E402
import time  # noqa: E402
from collections.abc import Callable  # noqa: E402
from dataclasses import dataclass  # noqa: E402
from pathlib import Path  # noqa: E402

import psutil  # noqa: E402

from _running import announced, start  # noqa: E402
from content_miner.common.layout import DataLayout  # noqa: E402
from content_miner.tracker import Clock, MinerStageTracker  # noqa: E402
from content_miner.tracker.analytics import Window, history_report  # noqa: E402
from content_miner.tracker.live import MIN_HISTORY  # noqa: E402
from content_miner.tracker.read_only import read_stage_log  # noqa: E402

SCRAPE_TARGET_MS = 50.0
HISTORY_TARGET_S = 1.0
STAGES = (1, 2, 3, 4, 5, 6)
SIZE_EXPONENT = {1: 1.0, 2: 1.0, 3: 1.0, 4: 0.7, 5: 0.5, 6: 0.3}  # how each stage grows with the account
EXPECTED_SHAPE = {1: 5.0, 2: 2.0, 3: 30.0, 4: 2.0, 5: 10.0, 6: 2.0}  # the definitions' expected_s, if no run
MEDIAN_PIPELINE_S = 300.0
FAILURES = ("Failed to scrape profile: HTTP 404", "Failed to scrape profile: rate limited (HTTP 429)",
            "No usable posts after validation")


class SteppedClock:
    def __init__(self, wall: float) -> None:
        self.now, self.mono = wall, 1000.0
        self.clock = Clock(wall=lambda: self.now, mono=lambda: self.mono, id="bench")

    def advance(self, seconds: float) -> None:
        self.now += seconds
        self.mono += seconds


def pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, math.ceil(q / 100 * len(ordered)) - 1))]


# -- stage logs ---------------------------------------------------------------------------------------

def write_history(status_file: Path, accounts: int, span_s: float, rng: random.Random, *, events: int = 0) -> int:
    """`accounts` accounts' runs (or as many as `events` events take), oldest `span_s` ago up to now:
    Module 1's stages 1-6 (1 in 20 fails at Stage 1 or 2), Stage 7, Module 2's rendering. Returns the
    number of events written."""
    if events:
        accounts = events // 14 + 1  # 15 events an account, fewer for the failed ones: stopped at `events`
    durations = [[EXPECTED_SHAPE[stage] * rng.lognormvariate(0, 0.6) for stage in STAGES] for _ in range(accounts)]
    scale = span_s / max(1.0, sum(sum(row) + 2.0 for row in durations))
    clock = SteppedClock(time.time() - span_s - 60)
    tracker = MinerStageTracker(status_file, source="module1", clock=clock.clock)
    written = 0
    for index, row in enumerate(durations):
        if events and written >= events:
            break
        user = f"creator_{index:06d}"
        failed = False
        for stage, seconds in zip(STAGES, row, strict=True):
            tracker.stage_start(stage, f"Stage {stage} for {user}", user)
            clock.advance(seconds * scale)
            written += 2
            if stage <= 2 and rng.random() < 0.025:
                tracker.stage_failed(stage, f"{rng.choice(FAILURES)} for {user}", user)
                failed = True
                break
            tracker.stage_complete(stage, f"Stage {stage} done for {user}", user, {"seconds": round(seconds, 3)})
        if failed:
            continue
        tracker.stage_complete(7, "Pipeline completed - 12 recommendations generated", user)
        tracker.stage_start(1, "Rendering cards", user, source="module2")
        clock.advance(1.0 * scale)
        tracker.stage_complete(1, "Rendered 12 cards", user, source="module2")
        written += 3
    tracker.close(30.0)
    return written


# -- 1. /metrics of the real miner ----------------------------------------------------------------------

@dataclass
class ScrapeFigures:
    times_ms: list[float]
    size_bytes: int
    series: int
    sample_durations: dict[int, float]


def scrape_once(port: int) -> tuple[float, bytes]:
    started = time.perf_counter()
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    try:
        connection.request("GET", "/metrics")
        answer = connection.getresponse()
        body = answer.read()
        assert answer.status == 200, answer.status
    finally:
        connection.close()
    return (time.perf_counter() - started) * 1000, body


def wait_until(condition: Callable[[], object], timeout: float, what: str, miner: subprocess.Popen[bytes]) -> object:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        found = condition()
        if found:
            return found
        if miner.poll() is not None:
            raise SystemExit(f"the miner exited ({miner.returncode}) before {what}")
        time.sleep(0.2)
    raise SystemExit(f"timed out after {timeout:g} s waiting for {what}")


def stop_miner(miner: subprocess.Popen[bytes]) -> None:
    family = [] if miner.poll() is not None else psutil.Process(miner.pid).children(recursive=True)
    if miner.poll() is None:
        miner.send_signal(signal.SIGTERM)
        try:
            miner.wait(timeout=20)
        except subprocess.TimeoutExpired:
            miner.kill()
            miner.wait(timeout=10)
    for process in family:
        try:
            process.kill()
        except psutil.Error:
            pass


def bench_scrapes(root: Path, accounts: int, scrapes: int) -> ScrapeFigures:
    data = root / "data"
    written = write_history(DataLayout(data).status_file, accounts, 20 * 3600.0, random.Random(11))
    print(f"  stage log: {accounts:,} accounts, {written:,} events", flush=True)
    miner = start(["-m", "content_miner.neuron", "--mock", "--data-dir", str(data), "--axon.port", "0",
                   "--module2.port", "0", "--metrics.port", "0", "--status.interval", "30"], root / "miner.log")
    try:
        port = announced(data, "miner", "metrics_port", miner)
        tracker = MinerStageTracker(DataLayout(data).status_file)

        def sample_done() -> dict[int, float] | None:
            events = tracker.history.events(username="sample_creator")
            done = {event["stage_number"]: event["duration_s"] for event in events
                    if event["source"] == "module1" and event["status"] == "completed"}
            return {stage: float(done[stage]) for stage in STAGES} if 7 in done else None

        sample = wait_until(sample_done, 300, "the sample account's plan", miner)
        assert isinstance(sample, dict)
        tracker.close()
        scrape_once(port)  # the first scrape counts what the sample account wrote
        times, body = [], b""
        for _ in range(scrapes):
            elapsed, body = scrape_once(port)
            times.append(elapsed)
        series = sum(1 for line in body.decode().splitlines() if line and not line.startswith("#"))
        return ScrapeFigures(times, len(body), series, sample)
    finally:
        stop_miner(miner)


# -- 2. the history command -----------------------------------------------------------------------------

def bench_history(root: Path, events: int) -> tuple[int, list[float], list[float]]:
    data = root / "history"
    written = write_history(DataLayout(data).status_file, 0, 22 * 3600.0, random.Random(12), events=events)
    command = [sys.executable, "-m", "content_miner.tracker.status_command", "history", "--data-dir", str(data),
               "--json"]
    runs = []
    for _ in range(3):
        started = time.perf_counter()
        done = subprocess.run(command, capture_output=True, text=True, timeout=120)
        runs.append(time.perf_counter() - started)
        if done.returncode != 0:
            raise SystemExit(f"the history command failed: {done.stderr.strip()[-500:]}")
    report = json.loads(done.stdout)
    assert report, "the history command printed nothing"
    queries = []
    for _ in range(3):
        started = time.perf_counter()
        window = Window.last(24 * 3600.0, time.time())
        read_stage_log(DataLayout(data).stage_log, lambda db, w=window: history_report(db, w))
        queries.append(time.perf_counter() - started)
    return written, runs, queries


# -- 3. ETA error ---------------------------------------------------------------------------------------

def replay_eta(root: Path, accounts: int, shape: dict[int, float], *, progress: bool,
               seed: int = 13) -> tuple[list[float], list[float], int]:
    """Absolute % errors of the stage ETA and the pipeline ETA (warm accounts only) and how many
    predictions had no ETA at all."""
    rng = random.Random(seed)
    total = sum(shape.values())
    base = {stage: MEDIAN_PIPELINE_S * shape[stage] / total for stage in STAGES}
    clock = SteppedClock(time.time() - 30 * 86400 + 3600)
    tracker = MinerStageTracker(root / f"eta-{int(progress)}" / "miner_status.json", source="module1",
                                clock=clock.clock)
    stage_errors: list[float] = []
    pipeline_errors: list[float] = []
    missing = 0
    for index in range(accounts):
        user = f"replay_{index:05d}"
        size = rng.lognormvariate(0, 0.6)
        posts = max(5, round(80 * size))
        durations = {stage: base[stage] * size ** SIZE_EXPONENT[stage] * rng.lognormvariate(0, 0.2)
                     for stage in STAGES}
        for stage in STAGES:
            tracker.stage_start(stage, f"Stage {stage}", user)
            # As the pipeline reports (pipeline.py): progress in Stage 1 (the X API's pages) and Stage 3
            # (embedding batches); the size known at the start of Stages 2, 4 and 5; items on completion.
            reports = progress and stage in (1, 3)
            sized = progress and stage in (2, 4, 5)
            if sized:
                tracker.stage_progress(stage, 0, posts, user)
            elapsed = 0.0
            pace = [rng.uniform(0.8, 1.2) for _ in range(3)]  # items are not processed at one rate
            for point, fraction in enumerate((0.25, 0.5, 0.75)):
                clock.advance(durations[stage] * fraction - elapsed)
                elapsed = durations[stage] * fraction
                if reports:
                    tracker.stage_progress(stage, min(posts - 1, max(1, round(posts * fraction * pace[point]))),
                                           posts, user)
                [live] = [entry for entry in tracker.live(now=clock.now) if entry.username == user]
                if index < MIN_HISTORY:
                    continue
                actual = durations[stage] - elapsed
                actual_pipeline = actual + sum(durations[later] for later in STAGES if later > stage)
                if live.eta_s is None or live.pipeline_eta_s is None:
                    missing += 1
                    continue
                stage_errors.append(abs(live.eta_s - actual) / actual * 100)
                pipeline_errors.append(abs(live.pipeline_eta_s - actual_pipeline) / actual_pipeline * 100)
            clock.advance(durations[stage] - elapsed)
            tracker.stage_complete(stage, f"Stage {stage} done", user, {"items": posts} if reports or sized else None)
        tracker.stage_complete(7, "Pipeline completed", user)
    tracker.close(10.0)
    return stage_errors, pipeline_errors, missing


# -- 4. stage_progress ----------------------------------------------------------------------------------

def bench_progress(root: Path, calls: int) -> tuple[float, float]:
    """µs per throttled call (real clock, a tight loop: all but about one a second dropped) and per writing
    call (a clock moved past the throttle before each)."""
    tracker = MinerStageTracker(root / "progress" / "miner_status.json", source="module1")
    tracker.stage_start(3, "Indexing", "progress_account")
    started = time.perf_counter()
    for done in range(calls):
        tracker.stage_progress(3, done, calls, "progress_account")
    throttled = (time.perf_counter() - started) / calls * 1e6
    tracker.close(10.0)
    clock = SteppedClock(time.time())
    stepped = MinerStageTracker(root / "progress2" / "miner_status.json", source="module1", clock=clock.clock)
    stepped.stage_start(3, "Indexing", "progress_account")
    writes = max(1, calls // 10)
    spent = 0.0
    for done in range(writes):
        clock.advance(1.01)
        began = time.perf_counter()
        stepped.stage_progress(3, done, writes + 1, "progress_account")
        spent += time.perf_counter() - began
    stepped.close(10.0)
    return throttled, spent / writes * 1e6


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--accounts", type=int, default=1000, help="accounts in the scraped miner's history")
    parser.add_argument("--scrapes", type=int, default=50)
    parser.add_argument("--events", type=int, default=100_000, help="events in the history command's log")
    parser.add_argument("--eta-accounts", type=int, default=300)
    parser.add_argument("--progress-calls", type=int, default=20_000)
    args = parser.parse_args()
    good = True
    with tempfile.TemporaryDirectory(prefix="bench-observability-") as tmp:
        root = Path(tmp)
        print("1. /metrics of the real miner (--mock) on loopback", flush=True)
        scrape = bench_scrapes(root, args.accounts, args.scrapes)
        p50 = statistics.median(scrape.times_ms)
        print(f"  {args.scrapes} scrapes: p50 {p50:.1f} ms (target <= {SCRAPE_TARGET_MS:g}), "
              f"p95 {pct(scrape.times_ms, 95):.1f} ms, max {max(scrape.times_ms):.1f} ms; "
              f"{scrape.series:,} series, {scrape.size_bytes / 1024:.0f} KiB")
        good &= p50 <= SCRAPE_TARGET_MS

        print("2. the history command", flush=True)
        events, runs, queries = bench_history(root, args.events)
        print(f"  `content-miner-status history --json` over {events:,} events (24 h window): median "
              f"{statistics.median(runs):.2f} s of 3 (target <= {HISTORY_TARGET_S:g}), each "
              f"{', '.join(f'{r:.2f}' for r in runs)} s; the query alone {statistics.median(queries):.2f} s")
        good &= statistics.median(runs) <= HISTORY_TARGET_S

        print("3. ETA error on replayed history", flush=True)
        shape = scrape.sample_durations or EXPECTED_SHAPE
        print("  stage shape from the sample run: " + ", ".join(
            f"{stage}: {100 * shape[stage] / sum(shape.values()):.0f} %" for stage in STAGES))
        for progress in (False, True):
            stage_errors, pipeline_errors, missing = replay_eta(root, args.eta_accounts, shape, progress=progress)
            what = "as the pipeline reports (progress 1, 3; sizes 2, 4, 5)" if progress else "without progress (before)"
            print(f"  {what}: stage ETA median |error| {statistics.median(stage_errors):.0f} % "
                  f"(p90 {pct(stage_errors, 90):.0f} %), pipeline ETA {statistics.median(pipeline_errors):.0f} % "
                  f"(p90 {pct(pipeline_errors, 90):.0f} %); {len(stage_errors):,} predictions"
                  f"{f', {missing} without an ETA' if missing else ''}")

        print("4. stage_progress", flush=True)
        throttled, writing = bench_progress(root, args.progress_calls)
        print(f"  per call: {throttled:.1f} µs dropped by the throttle ({args.progress_calls:,} calls in a loop), "
              f"{writing:.0f} µs when it writes")
    return 0 if good else 1


if __name__ == "__main__":
    sys.exit(main())
