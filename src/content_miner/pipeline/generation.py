"""Stage 5, Content Generation: `generate_plan(...)` -> `ContentPlan`.

Topics come from the embeddings (`topics`). Recommendations are handed out to topics by the
D'Hondt rule on topic lift: each next recommendation goes to the topic with the highest
lift / (recommendations it already has + 1). Strong topics get several, each with a different
angle and a different slot; weak topics get fewer or none. The order of hand-out is the rank, and
slots are taken best first in that order, so rec-01 is the strongest topic at the best slot.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import replace
from datetime import datetime, timezone

import numpy as np

from content_miner.pipeline.angles import ANGLES, TopicBrief, template_draft, with_hashtags
from content_miner.pipeline.embedding import Embedder
from content_miner.pipeline.llm_drafts import DraftEndpointError, DraftWriter
from content_miner.pipeline.models import Post
from content_miner.pipeline.plan import (
    ContentPlan,
    EngagementRange,
    EvidencePost,
    PlanSource,
    Recommendation,
    TopicSummary,
)
from content_miner.pipeline.scheduling import assign_slots, posting_slot
from content_miner.pipeline.slots import SlotStat
from content_miner.pipeline.time_series import EngagementAnalysis
from content_miner.pipeline.topics import Topic, TopicModel, find_topics
from content_miner.pipeline.trend import TREND_P_VALUE, EngagementTrend, engagement_trend

logger = logging.getLogger(__name__)

DEFAULT_RECOMMENDATIONS = 15
MIN_TOPIC_POSTS = 3
EVIDENCE_POSTS = 3
CENTRAL_POSTS = 10  # evidence is the best-performing of the topic's most central posts
BEST_SLOTS = 5


class PlanGenerationError(ValueError):
    """The inputs cannot make a plan (mismatched rows, no posts)."""


def allocate(topics: Sequence[Topic], count: int) -> list[tuple[Topic, int]]:
    """(topic, angle number) pairs in rank order; a topic gets at most one per angle and per 3 posts."""
    given = {t.rank: 0 for t in topics}
    capacity = {t.rank: min(len(ANGLES), max(1, t.support // MIN_TOPIC_POSTS)) for t in topics}
    picks: list[tuple[Topic, int]] = []
    while len(picks) < count:
        open_topics = [t for t in topics if given[t.rank] < capacity[t.rank]]
        if not open_topics:
            break
        best = max(open_topics, key=lambda t: (t.lift / (given[t.rank] + 1), -t.rank))
        picks.append((best, given[best.rank]))
        given[best.rank] += 1
    return picks


def _evidence(topic: Topic, posts: Sequence[Post], embeddings: np.ndarray, values: np.ndarray) -> list[EvidencePost]:
    members = np.array(topic.members)
    similarity = embeddings[members] @ topic.centroid
    central = members[np.argsort(-similarity, kind="stable")[:CENTRAL_POSTS]]
    chosen = sorted(central, key=lambda i: (-values[i], posts[i].id))[:EVIDENCE_POSTS]
    return [
        EvidencePost(
            id=posts[i].id,
            text=posts[i].text,
            created_at=posts[i].created_at,
            engagement=float(values[i]),
            likes=posts[i].likes,
            reposts=posts[i].reposts,
            replies=posts[i].replies,
            similarity=round(float(embeddings[i] @ topic.centroid), 4),
        )
        for i in chosen
    ]


def _expected(topic: Topic, slot: SlotStat, analysis: EngagementAnalysis, posts: Sequence[Post]) -> EngagementRange:
    """The topic's quartiles, scaled by how much better the slot is than where the topic usually posted."""
    values = np.array(analysis.engagement)[list(topic.members)]
    grid = analysis.slots.lift_grid
    times = [posts[i].created_at.astimezone(timezone.utc) for i in topic.members]
    usual = float(np.exp(np.mean([np.log(grid[t.weekday()][t.hour]) for t in times])))
    factor = float(np.clip(slot.lift / usual, 0.5, 2.0))
    low, median, high = (float(np.percentile(values, q)) * factor for q in (25, 50, 75))
    return EngagementRange(low=round(low, 1), median=round(median, 1), high=round(high, 1))


def topic_trends(topics: Sequence[Topic], posts: Sequence[Post], values: np.ndarray) -> dict[int, EngagementTrend]:
    """Per topic rank: the same weekly Mann-Kendall test as the account's trend (Stage 4), on the
    topic's posts. With one test per topic, some would pass p < 0.05 by chance alone, so a topic is
    called rising or falling only if its test survives Holm's correction over all the topics."""
    raw = {t.rank: engagement_trend([posts[i].created_at for i in t.members], values[list(t.members)])
           for t in topics}
    tested = sorted((trend.p_value, rank) for rank, trend in raw.items() if trend.p_value is not None)
    trends = dict(raw)
    failed_before = False
    for position, (p_value, rank) in enumerate(tested):
        failed_before = failed_before or p_value >= TREND_P_VALUE / (len(tested) - position)
        if failed_before and trends[rank].direction in ("rising", "falling"):
            trends[rank] = replace(trends[rank], direction="flat")
    return trends


def _topic_summaries(
    model: TopicModel, trends: dict[int, EngagementTrend], picks: Sequence[tuple[Topic, int]]
) -> list[TopicSummary]:
    given = {rank: sum(1 for topic, _ in picks if topic.rank == rank) for rank in trends}
    return [
        TopicSummary(
            rank=t.rank, label=t.label, keywords=list(t.keywords), posts=t.support, lift=round(t.lift, 4),
            trend=trends[t.rank].direction,
            weekly_change=_rounded(trends[t.rank].weekly_change),
            recommendations=given[t.rank],
        )
        for t in model.topics
    ]


def _rounded(change: float | None) -> float | None:
    return None if change is None else round(change, 4)


def _hashtags(topic: Topic) -> tuple[str, ...]:
    tags = list(topic.hashtags[:3])
    for word in topic.keywords:
        if len(tags) >= 2:
            break
        tag = "".join(ch for ch in word.lower() if ch.isalnum())
        if tag and tag not in tags:
            tags.append(tag)
    return tuple(tags)


def generate_plan(
    posts: Sequence[Post],
    embeddings: np.ndarray,
    analysis: EngagementAnalysis,
    *,
    platform: str,
    username: str,
    now: datetime,
    provider: str,
    posts_dropped: int = 0,
    count: int = DEFAULT_RECOMMENDATIONS,
    embedder: Embedder | None = None,
    drafter: DraftWriter | None = None,
) -> ContentPlan:
    """The content plan for one account: posts, their embeddings and analysis all row-aligned."""
    if len(posts) != len(embeddings) or len(posts) != analysis.posts:
        raise PlanGenerationError(
            f"posts ({len(posts)}), embeddings ({len(embeddings)}) and analysis ({analysis.posts}) differ"
        )
    notes = list(analysis.notes)
    values = np.array(analysis.engagement)
    model: TopicModel = find_topics(
        [p.text for p in posts], [p.hashtags for p in posts], embeddings,
        np.array(analysis.robust_log_engagement), embedder=embedder,
    )
    if model.k == 1:
        notes.append("too few posts to tell topics apart: all posts form one topic")
    topics = [t for t in model.topics if t.support >= MIN_TOPIC_POSTS] or list(model.topics)
    picks = allocate(topics, count)
    if len(picks) < count:
        notes.append(
            f"{len(picks)} recommendations instead of {count}: {len(topics)} topics with "
            f"{sum(t.support for t in topics)} posts support no more without repeating themselves"
        )
    trends = topic_trends(model.topics, posts, values)
    recommendations: list[Recommendation] = []
    failures: list[str] = []
    for rank, ((topic, angle_no), (stat, when)) in enumerate(
        # assign_slots gives len(picks) pairs, or none when there are no slots: strict=False.
        zip(picks, assign_slots(analysis.slots.ranked, len(picks), now), strict=False), start=1
    ):
        evidence = _evidence(topic, posts, embeddings, values)
        tags = _hashtags(topic)
        angle = ANGLES[angle_no]
        brief = TopicBrief(
            topic.label, topic.keywords, tags, angle.key, evidence[0].text, evidence[0].engagement
        )
        draft = template_draft(brief)
        if drafter is not None and not failures:
            try:
                draft = drafter.write(brief)
            except DraftEndpointError as exc:
                failures.append(str(exc))
                logger.warning("LLM drafts unavailable, using templates: %s", exc)
        recommendations.append(
            Recommendation(
                id=f"rec-{rank:02d}",
                rank=rank,
                topic=topic.label,
                topic_keywords=list(topic.keywords),
                draft=with_hashtags(draft, ()),
                hashtags=list(tags),
                slot=posting_slot(stat),
                next_slot_at=when,
                expected_engagement=_expected(topic, stat, analysis, posts),
                lift=round(topic.lift, 4),
                support=topic.support,
                evidence=evidence,
                rationale=(
                    f"Posts about {topic.label} get {topic.lift:.2f}x the account's typical engagement "
                    f"({topic.support} posts{_trend_words(trends[topic.rank])}); {stat.label} is a strong "
                    f"slot ({stat.lift:.2f}x). Angle: {angle.description}."
                ),
                topic_trend=trends[topic.rank].direction,
            )
        )
    if failures:
        notes.append(f"LLM endpoint failed ({failures[0]}): template drafts used instead")
    return ContentPlan(
        platform=platform,
        username=username,
        generated_at=now,
        source=PlanSource(
            posts_analyzed=len(posts),
            posts_dropped=posts_dropped,
            first_post_at=analysis.first_post_at,
            last_post_at=analysis.last_post_at,
            provider=provider,
        ),
        engagement_formula=analysis.formula,
        mean_engagement=round(analysis.mean_engagement, 2),
        median_engagement=round(analysis.median_engagement, 2),
        trend=analysis.trend.direction,
        best_slots=[posting_slot(s) for s in analysis.slots.ranked[:BEST_SLOTS]],
        recommendations=recommendations,
        topics=_topic_summaries(model, trends, picks),
        notes=notes,
    )


def _trend_words(trend: EngagementTrend) -> str:
    if trend.direction in ("rising", "falling") and trend.weekly_change is not None:
        return f", {trend.direction} {trend.weekly_change:+.1%} per week"
    return ""
