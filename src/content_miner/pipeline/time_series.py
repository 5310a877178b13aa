"""Stage 4, Time Series Analysis: `analyse(posts, now)` -> `EngagementAnalysis`.

Engagement per post (`engagement.ENGAGEMENT_FORMULA`), by hour of the week (`slots`), trend and
outliers (`trend`), hashtag trends (`hashtag_trends`). Thin data gives notes, not failures;
fewer than two posts cannot be analysed at all and raise `InsufficientDataError`.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone

import numpy as np

from content_miner.pipeline.engagement import ENGAGEMENT_FORMULA, engagement_of, robust_log_engagement
from content_miner.pipeline.hashtag_trends import HashtagTrend, hashtag_trends
from content_miner.pipeline.models import Post
from content_miner.pipeline.slots import SlotTable, slot_table
from content_miner.pipeline.trend import EngagementTrend, OutlierPost, engagement_trend, outlier_posts

logger = logging.getLogger(__name__)

MIN_POSTS_FOR_SLOTS = 30  # below this, slot figures are mostly the account average
STALE_AFTER = timedelta(days=30)


class InsufficientDataError(ValueError):
    """Too few posts (or unusable ones) to analyse."""


@dataclass(frozen=True)
class EngagementAnalysis:
    formula: str
    posts: int
    engagement: tuple[float, ...]  # per post, in the order the posts were given
    robust_log_engagement: tuple[float, ...]  # log1p, clipped; used for every lift
    mean_engagement: float
    median_engagement: float
    first_post_at: datetime
    last_post_at: datetime
    slots: SlotTable
    trend: EngagementTrend
    outliers: tuple[OutlierPost, ...]
    hashtags: tuple[HashtagTrend, ...]
    notes: tuple[str, ...]

    @property
    def account_log_mean(self) -> float:
        return float(np.mean(self.robust_log_engagement))


def _check(posts: Sequence[Post]) -> None:
    if len(posts) < 2:
        raise InsufficientDataError(
            f"engagement analysis needs at least 2 posts, got {len(posts)}"
        )
    for post in posts:
        if post.created_at.tzinfo is None:
            raise InsufficientDataError(f"post {post.id} has a timestamp without a time zone")
        if min(post.likes, post.reposts, post.replies) < 0:
            raise InsufficientDataError(f"post {post.id} has a negative engagement count")


def analyse(posts: Sequence[Post], now: datetime) -> EngagementAnalysis:
    """Analyse one account's posts as of `now` (timezone-aware)."""
    _check(posts)
    if now.tzinfo is None:
        raise InsufficientDataError("`now` must be timezone-aware")
    times = [p.created_at.astimezone(timezone.utc) for p in posts]
    values = engagement_of(posts)
    logs = robust_log_engagement(values)
    notes: list[str] = []

    if len(posts) < MIN_POSTS_FOR_SLOTS:
        notes.append(
            f"only {len(posts)} posts: best posting times lean on the account average "
            f"(at least {MIN_POSTS_FOR_SLOTS} recommended)"
        )
    future = sum(t > now for t in times)
    if future:
        notes.append(f"{future} posts are dated after the analysis time; check the source clock")
    if now - max(times) > STALE_AFTER:
        notes.append(f"the newest post is {(now - max(times)).days} days old: the data may be stale")

    trend = engagement_trend(times, values)
    if trend.note:
        notes.append(trend.note)
    tags = hashtag_trends(times, [p.hashtags for p in posts], logs)
    if not tags:
        notes.append("no hashtag is used often enough to show a trend")
    analysis = EngagementAnalysis(
        formula=ENGAGEMENT_FORMULA,
        posts=len(posts),
        engagement=tuple(float(v) for v in values),
        robust_log_engagement=tuple(float(v) for v in logs),
        mean_engagement=float(values.mean()),
        median_engagement=float(np.median(values)),
        first_post_at=min(times),
        last_post_at=max(times),
        slots=slot_table(times, values, logs),
        trend=trend,
        outliers=outlier_posts([p.id for p in posts], values),
        hashtags=tags,
        notes=tuple(notes),
    )
    logger.debug(
        "analysed %d posts: trend %s, %d outliers", len(posts), trend.direction, len(analysis.outliers)
    )
    return analysis
