"""What a raw record says about its post's format: reply, thread, quote, media, link, re-post, author.

The strongest engagement signals in real accounts are formats (a reply gets a fraction of an
original post's engagement; posts with images get several times more), so the importers keep
what each dump shape records:

- reply / thread: `in_reply_to_status_id(_str)` with `in_reply_to_screen_name` (API v1.1, X
  archives: a reply to the account itself is a thread); twint's `conversation_id` differing from
  the post's `id`, with its `reply_to` users; a scraper's `is_reply_to`; the X API v2's
  `referenced_tweets` of type `replied_to` with `in_reply_to_user_id`;
- quote: `is_quote_status`, twint's `quote_url`, API v2 `referenced_tweets` of type `quoted`;
- media: `entities.media` / `extended_entities.media`, twint's `photos` / `video`, `has_media`, API
  v2 `attachments.media_keys`;
- link: the expanded URLs of `entities.urls` (or twint's `urls`) that are not links to posts;
- re-post: `retweeted_status`, `is_retweet`, twint's `retweet`; author: `screen_name` / `username`.

Anything a record does not say stays None, and Stage 2 falls back to the text (a leading mention,
links in the text). Values are read defensively: dumps hold lists as JSON, as Python reprs (twint)
or as strings.
"""

from __future__ import annotations

import ast
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from content_miner.common.account import AccountKey, InvalidAccount

_STATUS_LINK = re.compile(r"(?:twitter|x)\.com/\w+/status(?:es)?/\d+", re.IGNORECASE)
_MAX_LIST_TEXT = 20_000  # a list cell longer than this is not parsed (bounded work per record)


@dataclass(frozen=True)
class FormatFlags:
    is_reply: bool | None = None
    is_thread: bool | None = None
    is_quote: bool | None = None
    has_media: bool | None = None
    has_link: bool | None = None
    is_repost: bool = False
    author: str | None = None


def truthy(value: Any) -> bool:
    if isinstance(value, str):
        return value.strip().lower() in ("true", "1", "yes", "t")
    if isinstance(value, bool | int | float):
        return bool(value)
    return False


def as_list(value: Any) -> list[Any]:
    """A list from a JSON list, a Python-repr list (twint: "['a', 'b']"), or a ';'/','-joined string."""
    if value is None or value == "":
        return []
    if isinstance(value, list):
        return value
    if not isinstance(value, str):
        return [value]
    text = value.strip()
    if text in ("[]", "NA", "nan", "None", "null") or len(text) > _MAX_LIST_TEXT:
        return []
    if text.startswith("["):
        try:
            parsed = ast.literal_eval(text)
        except (ValueError, SyntaxError, MemoryError, RecursionError):
            return re.findall(r"'([^']*)'", text)
        return parsed if isinstance(parsed, list) else [parsed]
    return [part.strip() for part in re.split(r"[;,]", text) if part.strip()]


def _entities(record: Mapping[str, Any]) -> tuple[Mapping[str, Any], Mapping[str, Any]]:
    entities = record.get("entities")
    extended = record.get("extended_entities")
    return (entities if isinstance(entities, Mapping) else {}), (extended if isinstance(extended, Mapping) else {})


def _is(key: AccountKey | None, name: Any) -> bool:
    return key is not None and key.is_named(name)


def format_flags(record: Mapping[str, Any], post_id: str, account: AccountKey | None) -> FormatFlags:
    """The flags `record` (keys lower case) supports; `account` tells a thread from a reply."""
    entities, extended = _entities(record)
    is_reply: bool | None = None
    is_thread: bool | None = None
    reply_to_name = record.get("in_reply_to_screen_name")
    conversation = str(record.get("conversation_id") or "").strip()
    referenced = record.get("referenced_tweets")
    references = [r for r in referenced if isinstance(r, Mapping)] if isinstance(referenced, list) else []
    if record.get("in_reply_to_status_id_str") or record.get("in_reply_to_status_id"):
        is_thread = _is(account, reply_to_name)
        is_reply = not is_thread
    elif any(r.get("type") == "replied_to" for r in references):
        is_thread = bool(conversation) and conversation != post_id and _is(account, record.get("author_username"))
        is_reply = not is_thread
    elif conversation and post_id and conversation != post_id:  # twint: leading mentions are cut from the text
        users = [u.get("screen_name") or u.get("username") if isinstance(u, Mapping) else u
                 for u in as_list(record.get("reply_to"))]
        is_thread = bool(users) and all(_is(account, user) for user in users)
        is_reply = not is_thread
    elif "is_reply_to" in record or "is_reply" in record:
        is_reply, is_thread = truthy(record.get("is_reply_to") or record.get("is_reply")), False
    elif conversation:
        is_reply, is_thread = False, False

    is_quote: bool | None = None
    if "is_quote_status" in record or "quote_url" in record or references:
        is_quote = (truthy(record.get("is_quote_status")) or bool(str(record.get("quote_url") or "").strip())
                    or any(r.get("type") == "quoted" for r in references))

    has_media: bool | None = None
    attachments = record.get("attachments")
    if entities or extended:
        has_media = bool(extended.get("media") or entities.get("media"))
    elif isinstance(attachments, Mapping):
        has_media = bool(attachments.get("media_keys"))
    elif "photos" in record or "video" in record or "has_media" in record:
        has_media = (bool(as_list(record.get("photos"))) or truthy(record.get("video"))
                     or truthy(record.get("has_media")))

    has_link: bool | None = None
    urls: list[Any] | None = None
    if entities and "urls" in entities:
        urls = [u.get("expanded_url") or u.get("url") for u in as_list(entities.get("urls")) if isinstance(u, Mapping)]
    elif "urls" in record:
        urls = as_list(record.get("urls"))
    if urls is not None:
        has_link = any(url and not _STATUS_LINK.search(str(url)) for url in urls)
        if not is_quote:  # archives mark a quote only by the quoted post's link
            is_quote = any(url and _STATUS_LINK.search(str(url)) for url in urls)

    is_repost = (record.get("retweeted_status") is not None or truthy(record.get("is_retweet"))
                 or truthy(record.get("retweet")))
    user = record.get("user")
    author = ((user.get("screen_name") if isinstance(user, Mapping) else None) or record.get("screen_name")
              or record.get("username") or record.get("author_username"))
    return FormatFlags(
        is_reply=is_reply, is_thread=is_thread, is_quote=is_quote, has_media=has_media, has_link=has_link,
        is_repost=is_repost, author=str(author).strip() if isinstance(author, str) and author.strip() else None,
    )


def account_key(platform: str, username: str) -> AccountKey | None:
    try:
        return AccountKey.parse(platform, username)
    except InvalidAccount:
        return None
