"""Engagement trend over time and outlier posts.

Trend: posts are grouped by UTC week (Monday start); each week is summarised by the median of its
log engagement (robust to one viral post), and the weekly series is tested with the Mann-Kendall
test (Kendall's tau against time): "rising" or "falling" when p < 0.05, else "flat". The size of
the change is the Theil-Sen slope, reported as a percentage per week. Weekly medians rather than
single posts, because posts within a week are not independent (one news cycle lifts them all).

Outliers: robust z-score of log engagement (median and MAD); |z| > 3.5 is an outlier.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta

import numpy as np
from scipy import stats

from content_miner.pipeline.engagement import OUTLIER_Z, robust_z

MIN_TREND_WEEKS = 4
MIN_TREND_POSTS = 8
TREND_P_VALUE = 0.05


@dataclass(frozen=True)
class WeeklyPoint:
    week_start: date  # a Monday
    posts: int
    median_engagement: float
    mean_engagement: float


@dataclass(frozen=True)
class EngagementTrend:
    direction: str  # "rising", "falling", "flat" or "not enough data"
    weekly_change: float | None  # Theil-Sen slope as a fraction per week, e.g. 0.03 = +3 %/week
    p_value: float | None
    weeks: tuple[WeeklyPoint, ...]
    note: str = ""


@dataclass(frozen=True)
class OutlierPost:
    post_id: str
    engagement: float
    robust_z: float

    @property
    def kind(self) -> str:
        return "high" if self.robust_z > 0 else "low"


def weekly_series(times: Sequence[datetime], values: np.ndarray) -> tuple[WeeklyPoint, ...]:
    weeks: dict[date, list[float]] = {}
    for when, value in zip(times, values, strict=True):
        monday = when.date() - timedelta(days=when.weekday())
        weeks.setdefault(monday, []).append(float(value))
    return tuple(
        WeeklyPoint(
            week_start=monday,
            posts=len(week),
            median_engagement=float(np.median(week)),
            mean_engagement=float(np.mean(week)),
        )
        for monday, week in sorted(weeks.items())
    )


def engagement_trend(times: Sequence[datetime], values: np.ndarray) -> EngagementTrend:
    weeks = weekly_series(times, values)
    if len(weeks) < MIN_TREND_WEEKS or len(values) < MIN_TREND_POSTS:
        return EngagementTrend(
            "not enough data",
            None,
            None,
            weeks,
            note=(
                f"trend needs posts in at least {MIN_TREND_WEEKS} weeks and {MIN_TREND_POSTS} posts; "
                f"found {len(weeks)} weeks and {len(values)} posts"
            ),
        )
    x = np.array([(w.week_start - weeks[0].week_start).days / 7 for w in weeks])
    y = np.log1p([w.median_engagement for w in weeks])
    if np.ptp(y) == 0:
        return EngagementTrend("flat", 0.0, 1.0, weeks)
    tau = stats.kendalltau(x, y)
    slope = float(stats.theilslopes(y, x).slope)
    p_value = float(tau.pvalue)
    direction = "flat"
    if p_value < TREND_P_VALUE:
        direction = "rising" if tau.statistic > 0 else "falling"
    return EngagementTrend(direction, float(np.expm1(slope)), p_value, weeks)


def outlier_posts(ids: Sequence[str], values: np.ndarray) -> tuple[OutlierPost, ...]:
    """Posts whose log engagement is more than 3.5 robust standard deviations from the median."""
    z = robust_z(np.log1p(values))
    found = [
        OutlierPost(post_id, float(value), float(score))
        for post_id, value, score in zip(ids, values, z, strict=True)
        if abs(score) > OUTLIER_Z
    ]
    return tuple(sorted(found, key=lambda o: (-abs(o.robust_z), o.post_id)))
