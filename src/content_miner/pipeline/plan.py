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

SCHEMA_VERSION: Final = "1.1"  # 1.1 added `topics` and each recommendation's `topic_trend`; 1.0 still reads



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
    mean_engagement: float = Field(ge=0)
    lift: float = Field(ge=0)  # mean engagement in the slot / the account's mean engagement
    posts: int = Field(ge=0)  # how many past posts support the figure


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
    replies: int = Field(ge=0)
    similarity: float  # cosine similarity to the topic centre


class Recommendation(_Frozen):
    id: str  # stable within a plan: "rec-01", "rec-02", ...
    rank: int = Field(ge=1)
    topic: str  # a short human label, e.g. "rust compiler releases"
    topic_keywords: list[str]
    draft: str  # a post the account manager can edit and publish
    hashtags: list[str]  # without '#'
    slot: PostingSlot  # when to post it: the account's best slots, handed out best first in rank order
    next_slot_at: datetime  # the next occurrence of `slot` after the plan was generated (UTC)
    expected_engagement: EngagementRange
    lift: float = Field(ge=0)  # topic engagement / account engagement
    support: int = Field(ge=1)  # past posts in the topic
    evidence: list[EvidencePost]
    rationale: str  # one or two sentences: why this recommendation
    topic_trend: str = "not enough data"  # the topic's own engagement trend: see TopicSummary.trend


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


class PlanSource(_Frozen):
    posts_analyzed: int = Field(ge=0)
    posts_dropped: int = Field(ge=0)
    first_post_at: datetime | None
    last_post_at: datetime | None
    provider: str


class ContentPlan(_Frozen):
    schema_version: Literal["1.0", "1.1"] = SCHEMA_VERSION
    platform: str
    username: str
    generated_at: datetime
    source: PlanSource
    engagement_formula: str  # e.g. "likes + 2*reposts + 3*replies"
    mean_engagement: float = Field(ge=0)
    median_engagement: float = Field(ge=0)
    trend: str  # "rising", "falling", "flat" or "not enough data"
    best_slots: list[PostingSlot]
    recommendations: list[Recommendation]
    topics: list[TopicSummary] = Field(default_factory=list)  # every topic found, best first
    notes: list[str] = Field(default_factory=list)  # enough-data warnings and the like
