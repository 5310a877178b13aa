"""Benchmark Module 2: cards rendered per second in-process, and query latency against the real service.

    .venv/bin/python scripts/bench_module2.py [--cards 200] [--requests 1000]

Targets (2 cores): >= 20 cards/s; plan query p50 <= 5 ms; a card whose draft is 1 MB well under a
second (its text is cut to what the box can show before wrapping). Everything runs on 127.0.0.1 in
a temporary data directory that is removed afterwards.
"""

from __future__ import annotations

import argparse
import signal
import statistics
import sys
import tempfile
import time
from datetime import datetime, timedelta, timezone
from pathlib import Path

import httpx

from _running import announced, start  # noqa: E402
from content_miner.images.renderer import create_renderer  # noqa: E402
from content_miner.pipeline.plan import (  # noqa: E402
    ContentPlan,
    EngagementRange,
    EvidencePost,
    PlanSource,
    PostingSlot,
    Recommendation,
)

WORDS = "ship faster builds cache compiler release notes thread benchmark rust async runtime users launch".split()


def bench_plan(username: str, count: int) -> ContentPlan:
    start = datetime(2024, 5, 1, tzinfo=timezone.utc)
    slot = PostingSlot(weekday=2, hour=15, label="Wed 15:00 UTC", mean_engagement=420.0, lift=2.1, posts=18)
    recs = []
    for rank in range(1, count + 1):
        draft = " ".join(WORDS[(rank * 7 + i) % len(WORDS)] for i in range(12 + (rank * 13) % 40)).capitalize() + "."
        evidence = [
            EvidencePost(id=f"{rank}-{i}", text="post", created_at=start - timedelta(days=i),
                         engagement=float((rank * 31 + i * 57) % 900), likes=10, reposts=2, replies=1, similarity=0.7)
            for i in range(4 + rank % 12)
        ]
        recs.append(Recommendation(
            id=f"rec-{rank:02d}", rank=rank, topic=f"topic {rank}", topic_keywords=["a"], draft=draft,
            hashtags=[WORDS[rank % len(WORDS)], WORDS[(rank + 3) % len(WORDS)]], slot=slot,
            next_slot_at=start + timedelta(days=1),
            expected_engagement=EngagementRange(low=100, median=300, high=800), lift=1.4, support=len(evidence),
            evidence=evidence, rationale="bench",
        ))
    return ContentPlan(
        platform="twitter", username=username, generated_at=start,
        source=PlanSource(posts_analyzed=500, posts_dropped=0, first_post_at=None, last_post_at=None, provider="bench"),
        engagement_formula="likes + 2*reposts + 3*replies", mean_engagement=250.0, median_engagement=200.0,
        trend="flat",
        best_slots=[slot], recommendations=recs,
    )


def bench_rendering(cards: int) -> float:
    plan = bench_plan("bench", 15)
    renderer = create_renderer("post_card")
    renderer.render(plan, plan.recommendations[0])  # fonts loaded and cached before timing
    started = time.perf_counter()
    for i in range(cards):
        renderer.render(plan, plan.recommendations[i % len(plan.recommendations)])
    return cards / (time.perf_counter() - started)


def bench_huge_draft() -> float:
    """Seconds to render one card whose draft is ~1 MB of words (it took ~25 s before the text budget)."""
    plan = bench_plan("bench", 1)
    rec = plan.recommendations[0].model_copy(update={"draft": " ".join(WORDS * (1_000_000 // len(" ".join(WORDS))))})
    plan = plan.model_copy(update={"recommendations": [rec]})
    renderer = create_renderer("post_card")
    started = time.perf_counter()
    renderer.render(plan, rec)
    return time.perf_counter() - started


def percentiles(samples_s: list[float]) -> tuple[float, float]:
    ordered = sorted(samples_s)
    p99 = ordered[min(len(ordered) - 1, int(len(ordered) * 0.99))]
    return statistics.median(ordered) * 1000, p99 * 1000


def timed_gets(client: httpx.Client, path: str, count: int) -> list[float]:
    samples = []
    for _ in range(count):
        started = time.perf_counter()
        response = client.get(path)
        samples.append(time.perf_counter() - started)
        response.raise_for_status()
    return samples


def bench_queries(requests: int) -> dict[str, tuple[float, float]]:
    with tempfile.TemporaryDirectory(prefix="bench-module2-") as tmp:
        data_dir = Path(tmp)
        plan = bench_plan("benchaccount", 15)
        target = data_dir / "exports" / "twitter" / "benchaccount" / "content_plan.json"
        target.parent.mkdir(parents=True)
        target.write_bytes(plan.model_dump_json().encode())
        process = start(["-m", "content_miner.images", "--data-dir", str(data_dir), "--port", "0"],
                        data_dir / "module2.log")
        try:
            port = announced(data_dir, "module2", "port", process)
            with httpx.Client(base_url=f"http://127.0.0.1:{port}", timeout=5) as client:
                deadline = time.monotonic() + 60
                while time.monotonic() < deadline:
                    try:
                        if client.get("/accounts/twitter/benchaccount").json().get("status") == "ready":
                            break
                    except (httpx.HTTPError, ValueError):
                        pass
                    time.sleep(0.05)
                else:
                    raise SystemExit("service did not render the bench plan within 60 s")
                timed_gets(client, "/plans/twitter/benchaccount", 50)  # warm-up
                return {
                    "plan": percentiles(timed_gets(client, "/plans/twitter/benchaccount", requests)),
                    "image": percentiles(timed_gets(client, "/images/twitter/benchaccount/rec-07.png", requests)),
                    "health": percentiles(timed_gets(client, "/health", requests)),
                }
        finally:
            process.send_signal(signal.SIGTERM)
            process.wait(timeout=10)



def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cards", type=int, default=200)
    parser.add_argument("--requests", type=int, default=1000)
    args = parser.parse_args()
    rate = bench_rendering(args.cards)
    print(f"rendering: {rate:.1f} cards/s (1200x675 PNG, one thread, {args.cards} cards)  target >= 20")
    print(f"huge draft: one card with a 1 MB draft in {bench_huge_draft() * 1000:.0f} ms  target < 1000")
    for name, (p50, p99) in bench_queries(args.requests).items():
        print(f"GET {name:6s}: p50 {p50:.2f} ms  p99 {p99:.2f} ms  ({args.requests} sequential requests, keep-alive)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
