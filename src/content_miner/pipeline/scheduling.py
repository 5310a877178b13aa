"""When to publish: claimed slots best first, or the account's usual hours when nothing is claimed."""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from datetime import datetime, timedelta, timezone

import numpy as np

from content_miner.pipeline.plan import PostingSlot
from content_miner.pipeline.post_features import slot_of
from content_miner.pipeline.slots import SlotEffect

CALENDAR_DAYS = 14
USUAL_WEEKS = 26


def posting_slot(effect: SlotEffect, mean_engagement: float) -> PostingSlot:
    return PostingSlot(
        weekday=effect.weekday,
        hour=effect.hour,
        label=effect.label,
        mean_engagement=round(max(mean_engagement, 0.0), 2),
        lift=round(effect.lift, 4),
        lift_low=round(effect.lift_low, 4),
        posts=effect.posts,
    )


def slot_means(times: Sequence[datetime], values: np.ndarray) -> dict[int, float]:
    """Observed mean engagement per hour-of-week slot (for the record next to the lift)."""
    slots = np.array([slot_of(t) for t in times], dtype=np.int64)
    counts = np.bincount(slots, minlength=168)
    sums = np.bincount(slots, values, minlength=168)
    return {int(s): float(sums[s] / counts[s]) for s in np.flatnonzero(counts)}


def next_occurrence(weekday: int, hour: int, after: datetime) -> datetime:
    """The first `weekday` at `hour`:00 UTC strictly after `after`."""
    after = after.astimezone(timezone.utc)
    start = after.replace(minute=0, second=0, microsecond=0)
    days = (weekday - start.weekday()) % 7
    candidate = start.replace(hour=hour) + timedelta(days=days)
    return candidate if candidate > after else candidate + timedelta(days=7)


def usual_slots(times: Sequence[datetime], count: int) -> list[int]:
    """The hours of the week the account posts at most in its last USUAL_WEEKS weeks of posting
    (all its posts if that leaves few): where a draft fits its habits, not a claim that they are better."""
    if not times:
        return [12]
    since = max(times) - timedelta(weeks=USUAL_WEEKS)
    recent = [t for t in times if t > since]
    chosen = recent if len(recent) >= 20 else list(times)
    counts = Counter(slot_of(t) for t in chosen)
    ranked = sorted(counts, key=lambda s: (-counts[s], s))
    # Spread them: at most one per day until every day with posts has one.
    picked: list[int] = []
    for slot in ranked:
        if len(picked) == count:
            break
        if all(p // 24 != slot // 24 for p in picked):
            picked.append(slot)
    for slot in ranked:
        if len(picked) == count:
            break
        if slot not in picked:
            picked.append(slot)
    return picked or [12]


def schedule(slots: Sequence[int], count: int, now: datetime) -> list[datetime]:
    """`count` publish times, one per slot in order, reusing slots a week later when there are fewer."""
    if not slots:
        return []
    return [next_occurrence(slots[i % len(slots)] // 24, slots[i % len(slots)] % 24, now)
            + timedelta(weeks=i // len(slots)) for i in range(count)]
