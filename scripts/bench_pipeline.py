#!/usr/bin/env python3
"""Benchmark Module 1 end to end: per-stage seconds, posts/s and peak memory.

    python scripts/bench_pipeline.py [--sizes 1000 10000] [--keep DIR]

Each size runs in a fresh process: it warms up (imports, model load, index open: the start-up a
watchdog-mode Module 1 pays once), then processes one generated account of that many posts from a
local JSONL export through stages 1-7, exactly as `Miners/main.py` does. Peak RSS is the process's
maximum resident set size.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]

STAGES = {1: "scrape", 2: "retrieve", 3: "index", 4: "analyse", 5: "generate", 6: "export"}


_DETAILS = ("morning", "evening", "weekend", "budget", "upgrade", "mistake", "lesson", "update", "result",
            "question", "trick", "setup", "progress", "surprise", "version", "checklist", "review", "plan")


def _distinct_posts(generate, size: int) -> list:  # type: ignore[no-untyped-def]
    """`size` sample posts that survive near-duplicate removal. The sample generator's phrase book
    gives about a thousand distinct texts, so each post gets a short log note (~30 characters, as
    real posts vary), keeping lengths tweet-like."""
    import random
    from dataclasses import replace

    rng = random.Random(size)
    posts = generate(seed=11, n_posts=size, days=max(60, size // 20))
    return [replace(post, text=f"{post.text} Log {rng.randint(100, 9999)}: {rng.choice(_DETAILS)} "
                               f"{rng.choice(_DETAILS)}.") for post in posts]


def run_one(size: int, data_dir: Path) -> dict:
    began = time.perf_counter()
    from content_miner.common.layout import DataLayout
    from content_miner.pipeline.account import parse_account
    from content_miner.pipeline.pipeline import AccountPipeline, PipelineSettings
    from content_miner.pipeline.sample_account import generate_sample_posts, to_jsonl
    from content_miner.pipeline.scraping import ScrapeSettings
    from content_miner.tracker import configure

    paths = DataLayout(data_dir)
    configure(paths.status_file, source="module1")
    source = data_dir / f"posts-{size}.jsonl"
    source.write_text(to_jsonl(_distinct_posts(generate_sample_posts, size)))
    pipeline = AccountPipeline(PipelineSettings(layout=paths, scrape=ScrapeSettings.from_env({})))
    pipeline.warm_up()
    warm_up_s = time.perf_counter() - began
    request = parse_account({"platform": "twitter", "username": f"bench{size}", "source": str(source)})
    started = time.perf_counter()
    result = pipeline.run(request)
    total = time.perf_counter() - started
    rerun_started = time.perf_counter()
    pipeline.run(request)  # same posts again: cache and stored vectors reused
    rerun = time.perf_counter() - rerun_started
    return {
        "size": size, "posts": result.posts, "warm_up_s": warm_up_s, "total_s": total, "rerun_s": rerun,
        "stages": {STAGES[n]: s for n, s in result.stage_seconds.items()},
        "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[1000, 10000])
    parser.add_argument("--keep", type=Path, help="data directory to keep (default: a temporary one)")
    parser.add_argument("--child", type=int, help=argparse.SUPPRESS)
    parser.add_argument("--data-dir", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        print(json.dumps(run_one(args.child, args.data_dir)))
        return
    print(f"Module 1 benchmark on {os.cpu_count()} cores (stage seconds; warm = after model load)")
    header = f"{'posts':>6} {'usable':>6} " + " ".join(f"{name:>8}" for name in STAGES.values())
    print(header + f" {'total':>7} {'posts/s':>8} {'re-run':>7} {'warm-up':>8} {'peak RSS':>9}")
    for size in args.sizes:
        with tempfile.TemporaryDirectory(prefix="bench-pipeline-") as tmp:
            data = args.keep / str(size) if args.keep else Path(tmp)
            data.mkdir(parents=True, exist_ok=True)
            out = subprocess.run([sys.executable, __file__, "--child", str(size), "--data-dir", str(data)],
                                 capture_output=True, text=True, env={**os.environ, "PYTHONDONTWRITEBYTECODE": "1"})
            if out.returncode != 0:
                print(f"{size:>6} failed: {out.stderr.strip().splitlines()[-1:]}")
                continue
            r = json.loads(out.stdout.strip().splitlines()[-1])
            stages = " ".join(f"{r['stages'].get(name, 0):>8.2f}" for name in STAGES.values())
            print(f"{size:>6} {r['posts']:>6} {stages} {r['total_s']:>7.2f} {size / r['total_s']:>8.0f} "
                  f"{r['rerun_s']:>7.2f} {r['warm_up_s']:>8.2f} {r['peak_rss_mb']:>7.0f} MB")


if __name__ == "__main__":
    main()
