"""The three synapses: submit an account for a content plan, read stage status, fetch an image.

Request fields have defaults (bittensor puts dummy values of fields without defaults into headers)
and answers are Optional, empty in a request. There is deliberately no `source` field: an account
from the network is always scraped, never imported from a local path the sender names.
"""

# No `from __future__ import annotations`: the miner's handlers annotate with these classes and
# `axon.attach` inspects real annotations.

from typing import Any, ClassVar

import bittensor as bt
from pydantic import BaseModel

QUEUED = "queued"
IN_PROGRESS = "in_progress"
DONE = "done"
FAILED = "failed"
REJECTED = "rejected"
PLAN_STATES = (QUEUED, IN_PROGRESS, DONE, FAILED, REJECTED)


class StageEntry(BaseModel):
    """Where one account (or a module's own work, username "") stands now."""

    source: str = ""
    username: str = ""
    stage_number: int | None = None
    stage_name: str = ""
    status: str = ""  # running, completed, failed
    message: str = ""
    since: float | None = None  # epoch seconds
    last_duration_s: float | None = None
    # What the status means now: running, stalled (no progress for too long), idle (waiting for work),
    # completed, failed, crashed (its module died in it).
    state: str = ""
    progress_done: int | None = None  # of progress_total items of the running stage
    progress_total: int | None = None
    eta_s: float | None = None  # the running stage's expected remaining time (p50), and its p90
    eta_p90_s: float | None = None
    pipeline_eta_s: float | None = None  # the account's remaining time to its plan (p50), and its p90
    pipeline_eta_p90_s: float | None = None


class StageEvent(BaseModel):
    seq: int
    timestamp: float | None = None  # epoch seconds
    source: str = ""
    username: str = ""
    stage_number: int | None = None
    stage_name: str = ""
    status: str = ""
    message: str = ""
    duration_s: float | None = None


class ImageSummary(BaseModel):
    id: str
    rank: int
    ready: bool


class ContentPlanSynapse(bt.Synapse):
    """Submit an account; call again with the same account to follow it until `state == "done"`.

    Answers: `queued` (waiting, with `queue_position`: 1 is next), `in_progress` (with `stage`),
    `done` (with `plan` and `images`), `failed` (with `message`, and `retry_after`: submitting again
    before then answers the same failure), `rejected` (a bad request or a limit; `message` says why).
    `force_fresh` queues a new run even when a plan exists (unless one is under way). The username is
    normalised (`@`, case, spaces) the same way for every synapse.
    """

    platform: str = "twitter"
    username: str = ""
    force_fresh: bool = False
    max_posts: int | None = None

    state: str | None = None
    message: str | None = None
    stage: StageEntry | None = None
    plan: dict[str, Any] | None = None
    images: list[ImageSummary] | None = None
    retry_after: float | None = None  # epoch seconds, with `failed`
    queue_position: int | None = None  # with `queued`

    required_hash_fields: ClassVar[tuple[str, ...]] = ("platform", "username", "force_fresh", "max_posts")

    def deserialize(self) -> "ContentPlanSynapse":
        return self


class StageStatusSynapse(bt.Synapse):
    """The miner's modules, the accounts' current stages (one page at a time), and recent events.

    Pages: `limit` entries (1..200) after `cursor` ("" for the first page); the answer's
    `next_cursor` asks for the next page (None after the last one) and `total` counts every entry.
    """

    platform: str = "twitter"  # how `username` is normalised
    username: str = ""  # only this account ("" = all)
    events_limit: int = 20  # clamped to 0..200 by the miner
    limit: int = 50
    cursor: str = ""

    mode: str | None = None
    modules: dict[str, str] | None = None  # "Module 1" -> Running / Restarting / errored / ...
    current: list[StageEntry] | None = None
    events: list[StageEvent] | None = None
    next_cursor: str | None = None
    total: int | None = None

    required_hash_fields: ClassVar[tuple[str, ...]] = ("platform", "username", "events_limit", "limit", "cursor")

    def deserialize(self) -> "StageStatusSynapse":
        return self


class RecommendationImageSynapse(bt.Synapse):
    """One recommendation's image as base64 PNG. `state`: ready, pending (retry soon), not_found, rejected."""

    platform: str = "twitter"
    username: str = ""
    recommendation_id: str = ""

    state: str | None = None
    message: str | None = None
    image_png_b64: str | None = None

    required_hash_fields: ClassVar[tuple[str, ...]] = ("platform", "username", "recommendation_id")

    def deserialize(self) -> "RecommendationImageSynapse":
        return self
