"""Recent activity: is the account active or dormant, and where is its engagement heading lately?

Only the last `WEEKS` weeks before `now` count, and weeks without posts count as silence instead
of being skipped. An account with posts in fewer than `MIN_ACTIVE_WEEKS` of them (pro rata for an
account younger than the window), or in none of the last `SILENT_WEEKS`, is *dormant*, and no
trend is claimed for it; a trend also needs posts in `MIN_TREND_WEEKS` weeks. Otherwise the weekly median
log engagement of the active weeks gets a Mann-Kendall test (p < 0.05 for "rising" / "falling")
with the Theil-Sen slope as the size. The typical range is the 25th-75th percentile of the recent
posts' engagement.

The old trend used every week since the first post and skipped empty ones, so a five-year-old
account that had gone silent (or flat for its last half year) was still "rising": all five real
accounts of the back-test were called rising, including one with posts in 5 of its last 26 weeks.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Final

import numpy as np
from scipy import stats

WEEKS: Final = 26
MIN_ACTIVE_WEEKS: Final = 8
SILENT_WEEKS: Final = 8
MIN_TREND_WEEKS: Final = 4
P_VALUE: Final = 0.05


@dataclass(frozen=True)
class Activity:
    status: str  # "active" or "dormant"
    trend: str  # "rising", "falling", "flat" or "not enough data"
    weekly_change: float | None  # Theil-Sen slope as a fraction per week
    p_value: float | None
    window_weeks: int
    active_weeks: int  # weeks of the window with at least one post
    zero_weeks: int  # active weeks whose median engagement is 0
    recent_posts: int
    typical_low: float | None  # 25th percentile of the recent posts' engagement
    typical_high: float | None  # 75th
    last_post_at: datetime | None
    as_of: datetime  # the end of the window
    note: str  # "" or one line for the plan

    @property
    def summary(self) -> str:
        """What the plan's `trend` field says: the trend, or "dormant"."""
        return "dormant" if self.status == "dormant" else self.trend


def recent_activity(times: Sequence[datetime], engagement: np.ndarray, now: datetime) -> Activity:
    """Activity of posts at `times` with `engagement` as of `now` (all timezone-aware)."""
    start = now - timedelta(weeks=WEEKS)
    values_all = np.asarray(engagement, dtype=np.float64)
    recent = np.array([start < t <= now for t in times], dtype=bool)
    values = values_all[recent]
    weeks = np.array([min(int((t - start).days // 7), WEEKS - 1) for t, r in zip(times, recent, strict=True) if r],
                     dtype=np.int64)
    active = np.unique(weeks)
    medians = np.array([np.median(values[weeks == w]) for w in active])
    zero_weeks = int((medians == 0).sum())
    past = [t for t in times if t <= now]
    last = max(past) if past else None
    silent = last is None or (now - last) > timedelta(weeks=SILENT_WEEKS)
    low = float(np.percentile(values, 25)) if len(values) else None
    high = float(np.percentile(values, 75)) if len(values) else None

    def activity(status: str, trend: str, change: float | None, p_value: float | None, note: str) -> Activity:
        return Activity(status, trend, change, p_value, WEEKS, int(len(active)), zero_weeks, int(recent.sum()),
                        low, high, last, now, note)

    first = min(past) if past else now
    observed = min(WEEKS, max(1, math.ceil((now - first) / timedelta(weeks=1))))
    needed = min(MIN_ACTIVE_WEEKS, math.ceil(observed * MIN_ACTIVE_WEEKS / WEEKS))
    if len(active) < needed or silent:
        note = f"dormant: posts in {len(active)} of the last {WEEKS} weeks"
        if silent and last is not None:
            note += f", none since {last.date().isoformat()}"
        return activity("dormant", "not enough data", None, None, note)
    note = ""
    if len(active) < MIN_TREND_WEEKS:
        return activity("active", "not enough data", None, None, note)
    if zero_weeks * 2 >= len(active):
        note = f"in {zero_weeks} of the {len(active)} recent active weeks the typical post got no engagement"
    y = np.log1p(medians)
    if np.ptp(y) == 0:
        return activity("active", "flat", 0.0, 1.0, note)
    tau = stats.kendalltau(active, y)
    slope = float(stats.theilslopes(y, active).slope)
    p_value = float(tau.pvalue)
    trend = "flat"
    if p_value < P_VALUE:
        trend = "rising" if tau.statistic > 0 else "falling"
    return activity("active", trend, float(np.expm1(slope)), p_value, note)
