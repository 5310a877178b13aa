"""Which hashtags the account is using more or less, and how posts carrying them do.

The observed time span is cut in two: the recent period is its last third, the earlier period
the rest. For each hashtag used at least `MIN_USES` times, its share of posts in each period is
compared: "rising" when the recent share is at least 1.5x the earlier one, "falling" when at most
2/3 of it, and in both cases Fisher's exact test on the 2x2 table (period x carries the tag) gives
p < 0.1; else "steady". Random wobble in a few hundred posts easily moves a share by 1.5x, hence
the test. Its engagement lift is robust and shrunk like slot lifts.

Which hashtags a draft may carry (`HashtagUse.suggestable`): none unless the account itself uses
hashtags in more than `MIN_HASHTAG_SHARE` of its posts (an account that tagged 29 of 9,286 posts
should not be handed three tags per draft), and only tags used at least `MIN_RECENT_USES` times in
the `RECENT_WEEKS` weeks before the plan: an event tag from years ago is stale. A tag whose every
use falls within `EVENT_DAYS` days (a convention, a town hall, a launch) is an event's, and is
suggested only while that event is on (its last use within `EVENT_DAYS` days of the plan).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

import numpy as np
from scipy import stats

from content_miner.pipeline.engagement import shrunk_log_lift

MIN_USES = 3
RECENT_FRACTION = 1 / 3
CHANGE_RATIO = 1.5
CHANGE_P_VALUE = 0.1
MIN_HASHTAG_SHARE = 0.05
MIN_RECENT_USES = 3
RECENT_WEEKS = 26
EVENT_DAYS = 14


@dataclass(frozen=True)
class HashtagUse:
    share: float  # of the account's posts carrying at least one hashtag
    recent: tuple[str, ...]  # used MIN_RECENT_USES+ times in the RECENT_WEEKS weeks before now, not a past event's

    @property
    def suggestable(self) -> tuple[str, ...]:
        """Tags a draft may carry: the account's recent ones, if it uses hashtags at all."""
        return self.recent if self.share > MIN_HASHTAG_SHARE else ()


def hashtag_use(times: Sequence[datetime], hashtags: Sequence[Sequence[str]], now: datetime) -> HashtagUse:
    if not times:
        return HashtagUse(0.0, ())
    share = sum(bool(tags) for tags in hashtags) / len(times)
    since = now - timedelta(weeks=RECENT_WEEKS)
    counts: dict[str, int] = {}
    first: dict[str, datetime] = {}
    last: dict[str, datetime] = {}
    for when, tags in zip(times, hashtags, strict=True):
        for tag in dict.fromkeys(tags):
            first[tag] = min(first.get(tag, when), when)
            last[tag] = max(last.get(tag, when), when)
            if since < when <= now:
                counts[tag] = counts.get(tag, 0) + 1
    event = timedelta(days=EVENT_DAYS)

    def current(tag: str) -> bool:
        return last[tag] - first[tag] > event or now - last[tag] <= event

    recent = tuple(tag for tag, count in sorted(counts.items(), key=lambda kv: (-kv[1], kv[0]))
                   if count >= MIN_RECENT_USES and current(tag))
    return HashtagUse(share, recent)


@dataclass(frozen=True)
class HashtagTrend:
    hashtag: str
    earlier_posts: int
    recent_posts: int
    earlier_share: float  # fraction of the period's posts carrying the hashtag
    recent_share: float
    direction: str  # "rising", "falling", "steady"
    lift: float  # shrunk, robust engagement lift of posts carrying it


def recent_cutoff(times: Sequence[datetime]) -> datetime:
    first, last = min(times), max(times)
    return last - (last - first) * RECENT_FRACTION


def hashtag_trends(
    times: Sequence[datetime], hashtags: Sequence[Sequence[str]], logs: np.ndarray
) -> tuple[HashtagTrend, ...]:
    """Trends of hashtags used at least MIN_USES times, most used first."""
    cutoff = recent_cutoff(times)
    recent = np.array([t > cutoff for t in times])
    n_recent, n_earlier = int(recent.sum()), int((~recent).sum())
    account = float(logs.mean())
    uses: dict[str, list[int]] = {}
    for index, tags in enumerate(hashtags):
        for tag in dict.fromkeys(tags):  # a tag repeated within one post counts once
            uses.setdefault(tag, []).append(index)
    found: list[HashtagTrend] = []
    for tag, indices in uses.items():
        if len(indices) < MIN_USES:
            continue
        in_recent = int(recent[indices].sum())
        earlier_share = (len(indices) - in_recent) / n_earlier if n_earlier else 0.0
        recent_share = in_recent / n_recent if n_recent else 0.0
        in_earlier = len(indices) - in_recent
        table = [[in_recent, n_recent - in_recent], [in_earlier, n_earlier - in_earlier]]
        changed = stats.fisher_exact(table).pvalue < CHANGE_P_VALUE
        direction = "steady"
        if changed and recent_share >= CHANGE_RATIO * earlier_share:
            direction = "rising"
        elif changed and recent_share <= earlier_share / CHANGE_RATIO:
            direction = "falling"
        found.append(
            HashtagTrend(
                hashtag=tag,
                earlier_posts=in_earlier,
                recent_posts=in_recent,
                earlier_share=earlier_share,
                recent_share=recent_share,
                direction=direction,
                lift=shrunk_log_lift(logs[indices], account),
            )
        )
    found.sort(key=lambda t: (-(t.earlier_posts + t.recent_posts), t.hashtag))
    return tuple(found)
