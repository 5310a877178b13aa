"""Stage 4, Time Series Analysis: `analyse(posts, now, embeddings=...)` -> `EngagementAnalysis`.

Engagement per post (`engagement.formula_for`: replies count only where the source records them),
the account's engagement model (`engagement_model`, with the embeddings from Stage 3 as content
features), posting slots on the model's time-free residuals (`slots`), format advice (`format_advice`),
recent activity and trend (`recency`), hashtag use and trends, outliers. Thin data gives notes,
not failures; fewer than two posts cannot be analysed at all and raise `InsufficientDataError`.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone

import numpy as np

from content_miner.pipeline.engagement import EngagementFormula, formula_for, robust_log_engagement
from content_miner.pipeline.engagement_model import EngagementModel, causal_level, fit_engagement_model
from content_miner.pipeline.fit_cache import AccountFits
from content_miner.pipeline.format_advice import FormatEffect, format_advice
from content_miner.pipeline.hashtag_trends import HashtagTrend, HashtagUse, hashtag_trends, hashtag_use
from content_miner.pipeline.models import Post
from content_miner.pipeline.recency import Activity, recent_activity
from content_miner.pipeline.slots import SlotPlan, plan_slots
from content_miner.pipeline.trend import OutlierPost, WeeklyPoint, outlier_posts, weekly_series

logger = logging.getLogger(__name__)

MIN_POSTS_FOR_PATTERNS = 30  # below this, times, formats and topics are mostly noise
STALE_AFTER = timedelta(days=30)


class InsufficientDataError(ValueError):
    """Too few posts (or unusable ones) to analyse."""


@dataclass(frozen=True)
class EngagementAnalysis:
    formula: str
    counts_replies: bool  # False: the source has no reply counts, so the term is left out
    posts: int
    engagement: tuple[float, ...]  # per post, in the order the posts were given
    robust_log_engagement: tuple[float, ...]  # log1p, clipped; used for robust lifts
    level_residuals: tuple[float, ...]  # log1p engagement minus the account's moving level
    mean_engagement: float
    median_engagement: float
    first_post_at: datetime
    last_post_at: datetime
    model: EngagementModel
    slots: SlotPlan
    formats: tuple[FormatEffect, ...]
    activity: Activity
    weeks: tuple[WeeklyPoint, ...]  # every week with posts, for the trend chart
    outliers: tuple[OutlierPost, ...]
    hashtags: tuple[HashtagTrend, ...]
    hashtag_use: HashtagUse
    notes: tuple[str, ...]

    @property
    def account_log_mean(self) -> float:
        return float(np.mean(self.robust_log_engagement))

    @property
    def engagement_formula(self) -> EngagementFormula:
        return EngagementFormula(self.counts_replies)


def _check(posts: Sequence[Post]) -> None:
    if len(posts) < 2:
        raise InsufficientDataError(
            f"engagement analysis needs at least 2 posts, got {len(posts)}"
        )
    for post in posts:
        if post.created_at.tzinfo is None:
            raise InsufficientDataError(f"post {post.id} has a timestamp without a time zone")
        if min(post.likes, post.reposts, post.replies or 0) < 0:
            raise InsufficientDataError(f"post {post.id} has a negative engagement count")


def analyse(posts: Sequence[Post], now: datetime, *, embeddings: np.ndarray | None = None,
            fits: AccountFits | None = None) -> EngagementAnalysis:
    """Analyse one account's posts (oldest first) as of `now` (timezone-aware). `embeddings`
    (one row per post) give the engagement model its content features; None leaves them out.
    `fits` made from exactly these posts and vectors (`fit_cache`) are reused instead of refitted."""
    _check(posts)
    if now.tzinfo is None:
        raise InsufficientDataError("`now` must be timezone-aware")
    if embeddings is not None and len(embeddings) != len(posts):
        raise InsufficientDataError(f"{len(embeddings)} embeddings for {len(posts)} posts")
    # Everything that runs in time order (the moving level, the model's validation split, the
    # slot and format checks) sees the posts oldest first; per-post figures keep the given order.
    order = sorted(range(len(posts)), key=lambda i: (posts[i].created_at, i))
    if order != list(range(len(posts))):
        given = posts
        posts = [given[i] for i in order]
        embeddings = None if embeddings is None else np.asarray(embeddings)[order]
    inverse = np.argsort(order)
    times = [p.created_at.astimezone(timezone.utc) for p in posts]
    formula = formula_for(posts)
    values = formula.of(posts)
    logs = robust_log_engagement(values)
    y = np.log1p(values)
    level_residuals = y - causal_level(y)
    notes: list[str] = []
    if not formula.counts_replies:
        notes.append(f"the source has no reply counts: engagement here is {formula.text}")
    if len(posts) < MIN_POSTS_FOR_PATTERNS:
        notes.append(
            f"only {len(posts)} posts: too few to tell posting times, formats or topics apart "
            f"(at least {MIN_POSTS_FOR_PATTERNS} recommended)"
        )
    future = sum(t > now for t in times)
    if future:
        notes.append(f"{future} posts are dated after the analysis time; check the source clock")
    if now - max(times) > STALE_AFTER:
        notes.append(f"the newest post is {(now - max(times)).days} days old: the data may be stale")

    if fits is not None:
        model, slots, formats = fits.model, fits.slots, fits.formats
    else:
        model = fit_engagement_model(posts, embeddings, values)
        slots = plan_slots(times, model.time_free_residuals)
        formats = format_advice(posts, level_residuals)
    activity = recent_activity(times, values, now)
    if activity.note:
        notes.append(activity.note)
    tags = hashtag_trends(times, [p.hashtags for p in posts], logs)
    analysis = EngagementAnalysis(
        formula=formula.text,
        counts_replies=formula.counts_replies,
        posts=len(posts),
        engagement=tuple(float(v) for v in values[inverse]),
        robust_log_engagement=tuple(float(v) for v in logs[inverse]),
        level_residuals=tuple(float(v) for v in level_residuals[inverse]),
        mean_engagement=float(values.mean()),
        median_engagement=float(np.median(values)),
        first_post_at=min(times),
        last_post_at=max(times),
        model=model,
        slots=slots,
        formats=formats,
        activity=activity,
        weeks=weekly_series(times, values),
        outliers=outlier_posts([p.id for p in posts], values),  # sorted by size: order-free
        hashtags=tags,
        hashtag_use=hashtag_use(times, [p.hashtags for p in posts], now),
        notes=tuple(notes),
    )
    logger.debug("analysed %d posts: %s, model %s, slots %s", len(posts), activity.summary, model.kind,
                 "claimed" if slots.claimed else "not claimed")
    return analysis
