"""Valid content plans for the tests, built from the real schema."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

from content_miner.pipeline.plan import (
    ContentPlan,
    EngagementRange,
    EvidencePost,
    PlanSource,
    PostingSlot,
    Recommendation,
)

SHORT_DRAFT = "Ship it."
LONG_DRAFT = (
    "We just cut compile times in half for the whole workspace. Here is what changed: incremental "
    "builds now reuse the query cache across crates, linking moved to a faster linker, and the test "
    "suite runs sharded across every core. Full write-up and numbers in the thread below."
)

BASE_TIME = datetime(2024, 5, 1, 12, 0, tzinfo=timezone.utc)


def evidence(count: int, *, seed: int = 0) -> list[EvidencePost]:
    return [
        EvidencePost(
            id=f"p{seed}-{i}",
            text=f"past post {i}",
            created_at=BASE_TIME - timedelta(days=3 * (count - i)),
            engagement=float(50 + (i * 37 + seed * 11) % 400),
            likes=40 + i,
            reposts=3 + i % 5,
            replies=1 + i % 3,
            similarity=0.8,
        )
        for i in range(count)
    ]


def recommendation(
    rank: int, *, draft: str = LONG_DRAFT, evidence_count: int = 8, hashtags: list[str] | None = None
) -> Recommendation:
    slot = PostingSlot(weekday=1, hour=14, label="Tue 14:00 UTC", mean_engagement=310.0, lift=1.8, posts=12)
    return Recommendation(
        id=f"rec-{rank:02d}",
        rank=rank,
        topic=f"compiler performance {rank}",
        topic_keywords=["compiler", "build", "speed"],
        draft=draft,
        hashtags=["rustlang", "compilers", "devtools"] if hashtags is None else hashtags,
        slot=slot,
        next_slot_at=datetime(2024, 5, 7, 14, 0, tzinfo=timezone.utc),
        expected_engagement=EngagementRange(low=120.0, median=240.0, high=520.0),
        lift=1.6,
        support=max(1, evidence_count),
        evidence=evidence(evidence_count, seed=rank),
        rationale="Posts about build speed beat the account's average by 60%.",
    )


def make_plan(
    username: str = "elonmusk",
    *,
    platform: str = "twitter",
    recommendations: list[Recommendation] | None = None,
    count: int = 3,
    note: str = "",
) -> ContentPlan:
    recs = recommendations if recommendations is not None else [recommendation(i + 1) for i in range(count)]
    return ContentPlan(
        platform=platform,
        username=username,
        generated_at=BASE_TIME,
        source=PlanSource(
            posts_analyzed=200,
            posts_dropped=3,
            first_post_at=BASE_TIME - timedelta(days=90),
            last_post_at=BASE_TIME,
            provider="fixture",
        ),
        engagement_formula="likes + 2*reposts + 3*replies",
        mean_engagement=180.0,
        median_engagement=150.0,
        trend="rising",
        best_slots=[r.slot for r in recs[:1] if r.slot is not None],
        recommendations=recs,
        notes=[note] if note else [],
    )
