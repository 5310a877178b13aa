#!/usr/bin/env python3
"""Benchmark Module 1 end to end: per-stage seconds, the embedder against Stage 3, a re-run with
nothing new, and peak memory.

    python scripts/bench_pipeline.py [--sizes 1000 10000] [--keep DIR] [--source FILE --username NAME]

Each size runs in a fresh process: it warms up (imports, model load, index open: the start-up a
watchdog-mode Module 1 pays once), embeds the account's texts once on their own (the embedder's
own time, "embedder"), then processes the account from a local export through stages 1-7 exactly
as `Miners/main.py` does, and once more with nothing new ("re-run": the stages' seconds). "3/emb"
is Stage 3 over the embedder's own time; "in 3" the seconds Stage 3 spent inside the embedder, and
"3/in 3" Stage 3 over that (the same run, so a busy host inflates both alike). Peak RSS is the
process's maximum resident set size. Without `--source` the account is generated (sample posts
with a short note each, so they survive near-duplicate removal); with it, a real export is used
(it stays where it is: only the data directory is written).

To measure an older commit, run this script with that commit's `src/` first on PYTHONPATH.
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


def run_one(size: int, data_dir: Path, source: Path | None, username: str) -> dict:
    began = time.perf_counter()
    from content_miner.common.layout import DataLayout
    from content_miner.pipeline.account import parse_account
    from content_miner.pipeline.pipeline import AccountPipeline, PipelineSettings
    from content_miner.pipeline.retrieval import retrieve
    from content_miner.pipeline.sample_account import generate_sample_posts, to_jsonl
    from content_miner.pipeline.scraping import ScrapeSettings, default_providers
    from content_miner.pipeline.scraping import scrape as scrape_stage
    from content_miner.tracker import configure

    layout = DataLayout(data_dir)
    configure(layout.status_file, source="module1")
    if source is None:
        source = data_dir / f"posts-{size}.jsonl"
        source.write_text(to_jsonl(_distinct_posts(generate_sample_posts, size)))
    pipeline = AccountPipeline(PipelineSettings(layout=layout, scrape=ScrapeSettings.from_env({})))
    pipeline.warm_up()
    warm_up_s = time.perf_counter() - began
    request = parse_account({"platform": "twitter", "username": username, "source": str(source)})
    scraped = scrape_stage(request, layout=layout, settings=ScrapeSettings.from_env({}), providers=default_providers(),
                           now=pipeline.clock())
    texts = [post.text for post in retrieve(scraped).posts]
    alone = time.perf_counter()
    pipeline._embedder().embed(texts)  # the embedder's own time for these texts, nothing else
    embed_alone_s = time.perf_counter() - alone
    started = time.perf_counter()
    result = pipeline.run(request)
    total = time.perf_counter() - started
    rerun_started = time.perf_counter()
    again = pipeline.run(request)  # same posts again: cache, stored vectors and fits reused
    rerun = time.perf_counter() - rerun_started
    return {
        "size": size, "posts": result.posts, "warm_up_s": warm_up_s, "total_s": total, "rerun_s": rerun,
        "rerun_pipeline_s": sum(again.stage_seconds.values()), "embed_alone_s": embed_alone_s,
        "embed_in_stage_3_s": getattr(result, "embed_seconds", None),  # None before it was recorded
        "stages": {STAGES[n]: s for n, s in result.stage_seconds.items()},
        "rerun_stages": {STAGES[n]: s for n, s in again.stage_seconds.items()},
        "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[1000, 10000])
    parser.add_argument("--keep", type=Path, help="data directory to keep (default: a temporary one)")
    parser.add_argument("--source", type=Path, help="a real export to use instead of a generated account")
    parser.add_argument("--username", default="", help="the account of --source")
    parser.add_argument("--json", action="store_true", help="print each result as a JSON line too")
    parser.add_argument("--child", type=int, help=argparse.SUPPRESS)
    parser.add_argument("--data-dir", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        print(json.dumps(run_one(args.child, args.data_dir, args.source, args.username or f"bench{args.child}")))
        return
    sizes = [0] if args.source else args.sizes
    load = os.getloadavg()[0]
    print(f"Module 1 benchmark on {os.cpu_count()} cores, load average {load:.1f} (seconds; warm = after model load)")
    header = f"{'posts':>6} {'usable':>6} " + " ".join(f"{name:>8}" for name in STAGES.values())
    print(header + f" {'total':>7} {'embedder':>8} {'3/emb':>6} {'in 3':>6} {'3/in 3':>6} {'re-run':>7} "
                   f"{'peak RSS':>9}")
    for size in sizes:
        with tempfile.TemporaryDirectory(prefix="bench-pipeline-") as tmp:
            data = args.keep / str(size) if args.keep else Path(tmp)
            data.mkdir(parents=True, exist_ok=True)
            command = [sys.executable, __file__, "--child", str(size or 1), "--data-dir", str(data)]
            if args.source:
                command += ["--source", str(args.source.absolute()), "--username", args.username or "account"]
            out = subprocess.run(command, capture_output=True, text=True,
                                 env={**os.environ, "PYTHONDONTWRITEBYTECODE": "1"})
            if out.returncode != 0:
                print(f"{size:>6} failed: {out.stderr.strip().splitlines()[-1:]}")
                continue
            r = json.loads(out.stdout.strip().splitlines()[-1])
            stages = " ".join(f"{r['stages'].get(name, 0):>8.2f}" for name in STAGES.values())
            ratio = r["stages"].get("index", 0) / r["embed_alone_s"] if r["embed_alone_s"] else float("nan")
            inside = r.get("embed_in_stage_3_s") or float("nan")
            print(f"{(size or r['posts']):>6} {r['posts']:>6} {stages} {r['total_s']:>7.2f} {r['embed_alone_s']:>8.2f} "
                  f"{ratio:>6.2f} {inside:>6.1f} {r['stages'].get('index', 0) / inside:>6.2f} "
                  f"{r['rerun_pipeline_s']:>7.2f} {r['peak_rss_mb']:>7.0f} MB")
            if args.json:
                print(json.dumps(r))


if __name__ == "__main__":
    main()
