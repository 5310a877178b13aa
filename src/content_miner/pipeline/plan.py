"""The content plan: Module 1's product, read by Module 2 and by validators.

`content_plan.json` under `exports/<platform>/<username>/` is this model, serialised with
`ContentPlan.model_dump_json()`. The schema is versioned: readers check `schema_version` and
refuse a major version they do not know.
"""

from __future__ import annotations

import hashlib
from datetime import datetime
from typing import Final, Literal

from pydantic import BaseModel, ConfigDict, Field

# 1.1 added `topics` and each recommendation's `topic_trend`. 2.0: a recommendation's `slot` and an
# evidence post's `replies` may be null (no posting-time claim; a source without reply counts),
# `trend` may be "dormant"; added `posting_time`, `format_advice`, `activity`, `engagement_model`,
# each slot's `lift_low`, each recommendation's `format`, each topic's `recommended` and interval.
# 1.x plans still read (every new field has a default).
SCHEMA_VERSION: Final = "2.0"



def plan_fingerprint(raw: bytes) -> str:
    """What identifies one version of a plan file: the SHA-256 of its bytes (Module 1 records it in
    the job, Module 2 reports it for the plan it serves)."""
    return hashlib.sha256(raw).hexdigest()


WEEKDAYS = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")


class _Frozen(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class PostingSlot(_Frozen):
    """An hour of the week (UTC) and how posts published in it did."""

    weekday: int = Field(ge=0, le=6)  # 0 = Monday
    hour: int = Field(ge=0, le=23)  # UTC
    label: str  # e.g. "Tue 14:00 UTC"
    mean_engagement: float = Field(ge=0)  # observed mean of the slot's past posts
    lift: float = Field(ge=0)  # engagement in the slot vs the account's typical post, trend, content and format
    #                            taken out, shrunk (2.0; 1.x: a ratio of shrunk geometric means)
    posts: int = Field(ge=0)  # how many past posts support the figure
    lift_low: float | None = Field(default=None, ge=0)  # lower 90 % bound of `lift`: what slots are ranked by


class PostingTime(_Frozen):
    """Whether the plan claims best posting times, and the check it based that on."""

    claimed: bool
    summary: str  # one line: the claimed slots, or "posting time: no reliable effect in this account's history"
    reason: str
    method: str  # "hour of week" or "hour + weekday"
    check_auc: float | None = None  # newer posts in the slots picked on older ones vs the rest
    check_threshold: float | None = None  # what random slots reach (the quantile it had to beat)


class FormatTip(_Frozen):
    """One format's effect on the account's engagement (reply, thread, quote, media, link)."""

    format: str  # "is_reply", "is_thread", "is_quote", "has_media", "has_link"
    name: str  # e.g. "posts with images or video"
    ratio: float | None = Field(default=None, ge=0)  # engagement with / without, level-free geometric means
    ratio_low: float | None = Field(default=None, ge=0)  # 90 % interval
    ratio_high: float | None = Field(default=None, ge=0)
    posts_with: int = Field(ge=0)
    posts_without: int = Field(ge=0)
    claimed: bool  # the history backs it (see format_advice.py); only claimed tips shape recommendations
    summary: str


class AccountActivity(_Frozen):
    """The account's recent window: active or dormant, and its trend there."""

    status: Literal["active", "dormant"]
    trend: str  # "rising", "falling", "flat" or "not enough data"
    weekly_change: float | None  # Theil-Sen slope as a fraction per week
    window_weeks: int = Field(ge=1)
    active_weeks: int = Field(ge=0)
    recent_posts: int = Field(ge=0)
    typical_low: float | None = Field(default=None, ge=0)  # 25th percentile of recent posts' engagement
    typical_high: float | None = Field(default=None, ge=0)  # 75th
    note: str = ""


class ModelSummary(_Frozen):
    """The engagement model behind the expected ranges and the ranking of drafts."""

    kind: str  # "ridge", "ridge-recent", "knn" or "level"
    posts: int = Field(ge=0)
    validation_spearman: dict[str, float]  # per candidate, on the newest 20 % of the history
    interval: str  # e.g. "50 % interval for posts published within a week"


class EngagementRange(_Frozen):
    low: float = Field(ge=0)
    median: float = Field(ge=0)
    high: float = Field(ge=0)


class EvidencePost(_Frozen):
    """A past post of the account that supports a recommendation."""

    id: str
    text: str
    created_at: datetime
    engagement: float = Field(ge=0)
    likes: int = Field(ge=0)
    reposts: int = Field(ge=0)
    replies: int | None = Field(ge=0)  # None: the source has no reply counts
    similarity: float  # cosine similarity to the topic centre


class Recommendation(_Frozen):
    id: str  # stable within a plan: "rec-01", "rec-02", ...
    rank: int = Field(ge=1)
    topic: str  # a short human label, e.g. "rust compiler releases"
    topic_keywords: list[str]
    draft: str  # a post the account manager can edit and publish
    hashtags: list[str]  # without '#'; empty unless the account uses hashtags
    slot: PostingSlot | None  # a claimed best slot, handed out best first in rank order; None: no claim
    next_slot_at: datetime  # when the calendar schedules it (UTC): the slot's next occurrence, or one of
    #                         the account's usual posting hours when no slot is claimed
    expected_engagement: EngagementRange  # the engagement model's median and 50 % interval for this draft
    lift: float = Field(ge=0)  # topic engagement / account engagement
    support: int = Field(ge=1)  # past posts in the topic
    evidence: list[EvidencePost]
    rationale: str  # one or two sentences: why this recommendation
    topic_trend: str = "not enough data"  # the topic's own engagement trend: see TopicSummary.trend
    format: str = "original post"  # how to publish it, from the claimed format advice


class TopicSummary(_Frozen):
    """One topic of the account (a cluster of its posts' embeddings) and how it is doing."""

    rank: int = Field(ge=1)  # by engagement lift, 1 = best
    label: str
    keywords: list[str]
    posts: int = Field(ge=1)
    lift: float = Field(ge=0)  # topic engagement / account engagement (shrunk toward 1)
    trend: str  # the topic's weekly median engagement: "rising", "falling", "flat" or "not enough data"
    weekly_change: float | None  # Theil-Sen slope as a fraction per week, when there is a trend figure
    recommendations: int = Field(ge=0)  # how many of the plan's recommendations are about it
    recommended: bool = True  # above the account's average (only these get recommendations)
    lift_low: float | None = Field(default=None, ge=0)  # 90 % interval of `lift`
    lift_high: float | None = Field(default=None, ge=0)


class PlanSource(_Frozen):
    posts_analyzed: int = Field(ge=0)
    posts_dropped: int = Field(ge=0)
    first_post_at: datetime | None
    last_post_at: datetime | None
    provider: str


class ContentPlan(_Frozen):
    schema_version: Literal["1.0", "1.1", "2.0"] = SCHEMA_VERSION
    platform: str
    username: str
    generated_at: datetime
    source: PlanSource
    engagement_formula: str  # "likes + 2*reposts + 3*replies", or without replies when the source has none
    mean_engagement: float = Field(ge=0)
    median_engagement: float = Field(ge=0)
    trend: str  # the recent window's: "rising", "falling", "flat", "not enough data" or "dormant"
    best_slots: list[PostingSlot]  # only slots the plan's own back-test supports; often none
    recommendations: list[Recommendation]
    topics: list[TopicSummary] = Field(default_factory=list)  # every topic found, best first
    notes: list[str] = Field(default_factory=list)  # enough-data warnings and the like
    posting_time: PostingTime | None = None
    format_advice: list[FormatTip] = Field(default_factory=list)
    activity: AccountActivity | None = None
    engagement_model: ModelSummary | None = None
