"""Engagement by hour of the week (UTC weekday x hour), with shrinkage.

Most accounts have a few hundred posts: about two per hour-of-week slot, too few to rank slots on
their own. Estimates are pooled in two levels (partial pooling):

1. hour of day and weekday: each group's robust log mean is shrunk toward the account's;
2. a slot's robust log mean is shrunk toward account x its hour effect x its weekday effect.

So a slot with one lucky post sits close to what its hour and weekday predict, and a slot wins
only when its hour, its weekday and its own posts agree. Lifts are ratios of geometric means on
clipped logs (`engagement.robust_log_engagement`).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

import numpy as np

from content_miner.pipeline.engagement import shrunk_log_lift
from content_miner.pipeline.plan import WEEKDAYS


@dataclass(frozen=True)
class SlotStat:
    weekday: int  # 0 = Monday
    hour: int  # UTC
    posts: int
    mean_engagement: float  # arithmetic mean of the slot's posts, as observed
    lift: float  # shrunk, robust: > 1 means the slot beats the account's typical post

    @property
    def label(self) -> str:
        return f"{WEEKDAYS[self.weekday]} {self.hour:02d}:00 UTC"


@dataclass(frozen=True)
class SlotTable:
    ranked: tuple[SlotStat, ...]  # slots with at least one post, best first
    hour_lift: tuple[float, ...]  # 24 values
    weekday_lift: tuple[float, ...]  # 7 values
    mean_grid: tuple[tuple[float, ...], ...]  # 7 x 24 observed means, NaN where no post
    count_grid: tuple[tuple[int, ...], ...]  # 7 x 24 post counts
    lift_grid: tuple[tuple[float, ...], ...]  # 7 x 24 shrunk lifts (predicted where no post)


def slot_table(times: Sequence[datetime], values: np.ndarray, logs: np.ndarray) -> SlotTable:
    """`times` UTC, `values` raw engagement, `logs` robust log engagement, all aligned."""
    weekdays = np.array([t.weekday() for t in times])
    hours = np.array([t.hour for t in times])
    account = float(logs.mean())
    hour_lift = [shrunk_log_lift(logs[hours == h], account) for h in range(24)]
    weekday_lift = [shrunk_log_lift(logs[weekdays == d], account) for d in range(7)]

    counts = np.zeros((7, 24), dtype=int)
    means = np.full((7, 24), np.nan)
    lifts = np.zeros((7, 24))
    stats: list[SlotStat] = []
    for d in range(7):
        for h in range(24):
            mask = (weekdays == d) & (hours == h)
            prior = account + float(np.log(hour_lift[h]) + np.log(weekday_lift[d]))
            lift = shrunk_log_lift(logs[mask], account, prior_log_mean=prior)
            lifts[d, h] = lift
            n = int(mask.sum())
            counts[d, h] = n
            if n:
                means[d, h] = float(values[mask].mean())
                stats.append(SlotStat(d, h, n, float(means[d, h]), lift))
    # Ties (equal lift) go to the better-supported slot, then to the earlier one: deterministic.
    stats.sort(key=lambda s: (-round(s.lift, 9), -s.posts, s.weekday, s.hour))
    return SlotTable(
        ranked=tuple(stats),
        hour_lift=tuple(hour_lift),
        weekday_lift=tuple(weekday_lift),
        mean_grid=tuple(tuple(float(x) for x in row) for row in means),
        count_grid=tuple(tuple(int(x) for x in row) for row in counts),
        lift_grid=tuple(tuple(float(x) for x in row) for row in lifts),
    )
