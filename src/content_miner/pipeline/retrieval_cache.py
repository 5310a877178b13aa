"""Stage 2's output kept beside the raw cache file it came from, for re-runs with nothing new.

Validating, normalising and de-duplicating 10,000 posts takes seconds (the near-duplicate check
is most of it); a re-run that reads the same raw cache file gets the same posts. The file
(`DataLayout.account_retrieved`) records the raw cache file's SHA-256, the post limit and the
format version, and is used only while all three match. Unreadable or stale: retrieved again.
"""

from __future__ import annotations

import json
import logging
from collections import Counter
from datetime import datetime
from typing import Any, Final

from content_miner.common.account import AccountKey
from content_miner.common.atomic_files import write_bytes_atomic
from content_miner.common.layout import DataLayout
from content_miner.pipeline.models import Post, RetrievalResult, ScrapeResult
from content_miner.pipeline.retrieval import retrieve

logger = logging.getLogger(__name__)

RETRIEVED_FORMAT: Final = 1  # change when Stage 2's rules or the Post fields change


def retrieve_reusing(layout: DataLayout, scraped: ScrapeResult, *, max_posts: int | None) -> RetrievalResult:
    """`retrieve(scraped)`, or its saved result when `scraped` is the same raw cache file as last time."""
    if not scraped.digest:
        return retrieve(scraped, max_posts=max_posts)
    path = layout.account_retrieved(AccountKey.parse(scraped.platform, scraped.username))
    key = {"format": RETRIEVED_FORMAT, "raw_sha256": scraped.digest, "max_posts": max_posts}
    try:
        document = json.loads(path.read_bytes())
        if isinstance(document, dict) and document.get("key") == key:
            return RetrievalResult(posts=tuple(_post(p) for p in document["posts"]),
                                   dropped=Counter(document["dropped"]), assumed_utc=int(document["assumed_utc"]))
    except FileNotFoundError:
        pass
    except (OSError, ValueError, KeyError, TypeError) as exc:
        logger.debug("Retrieving again: the saved result %s cannot be used (%s)", path, type(exc).__name__)
    result = retrieve(scraped, max_posts=max_posts)
    document = {"key": key, "dropped": dict(result.dropped), "assumed_utc": result.assumed_utc,
                "posts": [_record(p) for p in result.posts]}
    try:
        write_bytes_atomic(path, json.dumps(document, ensure_ascii=False).encode("utf-8"), durable=False)
    except OSError as exc:  # a cache that cannot be written costs the next run the parsing, nothing more
        logger.warning("Could not save the retrieved posts of %s: %s", scraped.username, exc)
    return result


def _record(post: Post) -> dict[str, Any]:
    return {
        "id": post.id, "text": post.text, "created_at": post.created_at.isoformat(), "likes": post.likes,
        "reposts": post.reposts, "replies": post.replies, "views": post.views, "hashtags": list(post.hashtags),
        "mentions": list(post.mentions), "links": list(post.links), "is_reply": post.is_reply,
        "is_thread": post.is_thread, "is_quote": post.is_quote, "has_media": post.has_media, "has_link": post.has_link,
    }


def _post(record: dict[str, Any]) -> Post:
    return Post(
        id=str(record["id"]), text=str(record["text"]), created_at=datetime.fromisoformat(record["created_at"]),
        likes=int(record["likes"]), reposts=int(record["reposts"]),
        replies=None if record["replies"] is None else int(record["replies"]),
        views=None if record["views"] is None else int(record["views"]),
        hashtags=tuple(record["hashtags"]), mentions=tuple(record["mentions"]), links=tuple(record["links"]),
        is_reply=bool(record["is_reply"]), is_thread=bool(record["is_thread"]), is_quote=bool(record["is_quote"]),
        has_media=None if record["has_media"] is None else bool(record["has_media"]), has_link=bool(record["has_link"]),
    )
