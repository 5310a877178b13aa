"""When to publish: give recommendations distinct good slots and find their next dates."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta, timezone

from content_miner.pipeline.plan import PostingSlot
from content_miner.pipeline.slots import SlotStat

CALENDAR_DAYS = 14


def posting_slot(stat: SlotStat) -> PostingSlot:
    return PostingSlot(
        weekday=stat.weekday,
        hour=stat.hour,
        label=stat.label,
        mean_engagement=round(stat.mean_engagement, 2),
        lift=round(stat.lift, 4),
        posts=stat.posts,
    )


def next_occurrence(weekday: int, hour: int, after: datetime) -> datetime:
    """The first `weekday` at `hour`:00 UTC strictly after `after`."""
    after = after.astimezone(timezone.utc)
    start = after.replace(minute=0, second=0, microsecond=0)
    days = (weekday - start.weekday()) % 7
    candidate = start.replace(hour=hour) + timedelta(days=days)
    return candidate if candidate > after else candidate + timedelta(days=7)


def assign_slots(ranked: Sequence[SlotStat], count: int, now: datetime) -> list[tuple[SlotStat, datetime]]:
    """`count` (slot, publish time) pairs, best slot first, no two at the same time.

    Each recommendation takes the best slot not yet taken; when there are fewer slots than
    recommendations, slots are reused a week later.
    """
    if not ranked:
        return []
    out: list[tuple[SlotStat, datetime]] = []
    for i in range(count):
        stat = ranked[i % len(ranked)]
        week = i // len(ranked)
        out.append((stat, next_occurrence(stat.weekday, stat.hour, now) + timedelta(weeks=week)))
    return out
