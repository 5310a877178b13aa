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
    replies: object = 0  # None: the source does not record reply counts (X archives, API v1.1 dumps)
    views: object = None
    # What the source says about the post's format; None where it does not say (Stage 2 then looks
    # at the text). See `scraping/post_format.py`.
    is_reply: bool | None = None  # a reply to another account
    is_thread: bool | None = None  # a reply to the account's own post (a thread)
    is_quote: bool | None = None
    has_media: bool | None = None  # images or video attached
    has_link: bool | None = None  # a link to something other than a post or the media
    is_repost: bool = False  # someone else's post re-posted (Stage 2 drops it)
    author: str | None = None  # the account the source names as the author, when it names one

    def to_json(self) -> dict:
        return {
            "id": self.id,
            "text": self.text,
            "created_at": self.created_at,
            "likes": self.likes,
            "reposts": self.reposts,
            "replies": self.replies,
            "views": self.views,
            **{name: getattr(self, name) for name in _FORMAT_FIELDS},
        }

    @classmethod
    def from_json(cls, record: dict) -> RawPost:
        def flag(name: str) -> bool | None:
            value = record.get(name)
            return value if isinstance(value, bool) else None

        author = record.get("author")
        return cls(
            id=str(record.get("id", "")),
            text=str(record.get("text", "")),
            created_at=str(record.get("created_at", "")),
            likes=record.get("likes", 0),
            reposts=record.get("reposts", 0),
            replies=record.get("replies", 0),
            views=record.get("views"),
            is_reply=flag("is_reply"),
            is_thread=flag("is_thread"),
            is_quote=flag("is_quote"),
            has_media=flag("has_media"),
            has_link=flag("has_link"),
            is_repost=record.get("is_repost") is True,
            author=author if isinstance(author, str) else None,
        )


_FORMAT_FIELDS = ("is_reply", "is_thread", "is_quote", "has_media", "has_link", "is_repost", "author")


@dataclass(frozen=True)
class ScrapeResult:
    """Stage 1's output: the raw posts of one account and where they came from."""

    platform: str
    username: str
    posts: tuple[RawPost, ...]
    provider: str  # e.g. "x-archive", "tabular", "x-api-v2"
    fetched_at: datetime  # UTC
    from_cache: bool = False
    digest: str = ""  # SHA-256 of the raw cache file holding exactly these posts ("" when not cached)


@dataclass(frozen=True)
class Post:
    """A validated, normalised post (Stage 2's output)."""

    id: str
    text: str  # cleaned: whitespace collapsed, HTML entities decoded
    created_at: datetime  # timezone-aware, UTC
    likes: int
    reposts: int
    replies: int | None  # None: the source does not record reply counts
    views: int | None = None
    hashtags: tuple[str, ...] = ()  # lower case, without '#'
    mentions: tuple[str, ...] = ()  # lower case, without '@'
    links: tuple[str, ...] = ()
    is_reply: bool = False  # a reply to another account
    is_thread: bool = False  # a reply to the account's own post
    is_quote: bool = False  # quotes another post
    has_media: bool | None = None  # None: the source cannot tell (a plain CSV's t.co link may be an image)
    has_link: bool = False  # links to something other than a post or the post's media


@dataclass(frozen=True)
class RetrievalResult:
    """Stage 2's output: usable posts, oldest first, and why the others were dropped."""

    posts: tuple[Post, ...]
    dropped: Counter = field(default_factory=Counter)  # reason -> count
    assumed_utc: int = 0  # kept posts whose timestamp had no offset (taken as UTC)
