"""Values that flow between the pipeline's stages.

Plain frozen dataclasses: they live inside one process. Files and HTTP use pydantic models
(`account.py`, `plan.py`).
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime


@dataclass(frozen=True)
class RawPost:
    """One post as a provider found it, before validation (Stage 1's output, cached as JSON).

    Fields keep the provider's values as they came (strings or numbers, timestamps as text);
    Stage 2 decides what is usable.
    """

    id: str
    text: str
    created_at: str
    likes: object = 0
    reposts: object = 0
    replies: object = 0
    views: object = None

    def to_json(self) -> dict:
        return {
            "id": self.id,
            "text": self.text,
            "created_at": self.created_at,
            "likes": self.likes,
            "reposts": self.reposts,
            "replies": self.replies,
            "views": self.views,
        }

    @classmethod
    def from_json(cls, record: dict) -> RawPost:
        return cls(
            id=str(record.get("id", "")),
            text=str(record.get("text", "")),
            created_at=str(record.get("created_at", "")),
            likes=record.get("likes", 0),
            reposts=record.get("reposts", 0),
            replies=record.get("replies", 0),
            views=record.get("views"),
        )


@dataclass(frozen=True)
class ScrapeResult:
    """Stage 1's output: the raw posts of one account and where they came from."""

    platform: str
    username: str
    posts: tuple[RawPost, ...]
    provider: str  # e.g. "x-archive", "tabular", "x-api-v2"
    fetched_at: datetime  # UTC
    from_cache: bool = False


@dataclass(frozen=True)
class Post:
    """A validated, normalised post (Stage 2's output)."""

    id: str
    text: str  # cleaned: whitespace collapsed, HTML entities decoded
    created_at: datetime  # timezone-aware, UTC
    likes: int
    reposts: int
    replies: int
    views: int | None = None
    hashtags: tuple[str, ...] = ()  # lower case, without '#'
    mentions: tuple[str, ...] = ()  # lower case, without '@'
    links: tuple[str, ...] = ()


@dataclass(frozen=True)
class RetrievalResult:
    """Stage 2's output: usable posts, oldest first, and why the others were dropped."""

    posts: tuple[Post, ...]
    dropped: Counter = field(default_factory=Counter)  # reason -> count
