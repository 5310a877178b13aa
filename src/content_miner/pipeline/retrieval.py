"""Stage 2, Data Retrieval: raw posts in, validated and de-duplicated posts out, oldest first.

A raw post that cannot be used is dropped and counted under a short reason:

  missing_id, missing_text, missing_timestamp, bad_timestamp (unparseable, date-only or before
  2000), future_timestamp (more than a day after the fetch), missing_count, bad_count,
  negative_count, repost (an X "RT @..." re-post, or one the source marks as a re-post: not the
  account's own words), other_account (the source names another author), duplicate_id,
  near_duplicate (see `near_duplicates.py`), over_max_posts.

Of duplicates the earliest post is kept. Only texts of at least `MIN_DUPLICATE_WORDS` words are
compared for near-duplicates: short replies ("Yes", "Exactly", "@bob Great point") repeat because
that is how people reply, not because a post was copied (on a real account of 9,286 posts the old
rule dropped 1,064 distinct replies; with 8 words it drops 3, all real re-posts).

Timestamps are ISO 8601 (one without an offset is taken as UTC, and counted so the plan can say
so), X's classic "Wed Oct 10 20:19:24 +0000 2018", or epoch seconds or milliseconds; all become
UTC. Counts are non-negative integers, given as numbers or digit strings (X archives use
strings); likes and reposts are required, replies may be missing (None: the source does not
record them). Format flags the source does not give are read from the text (`post_text`).
"""

from __future__ import annotations

import re
from collections import Counter
from datetime import datetime, timedelta, timezone

from content_miner.common.account import AccountKey, InvalidAccount
from content_miner.pipeline.models import Post, RawPost, RetrievalResult, ScrapeResult
from content_miner.pipeline.near_duplicates import NearDuplicateIndex
from content_miner.pipeline.post_text import (
    clean_text,
    comparable_text,
    extract_hashtags,
    extract_links,
    extract_mentions,
    is_media_link,
    is_post_link,
    shows_media,
)

MIN_POSTS = 2  # fewer leaves nothing to analyse over time
EARLIEST_VALID = datetime(2000, 1, 1, tzinfo=timezone.utc)  # older: a placeholder date, not a post
FUTURE_TOLERANCE = timedelta(days=1)  # clock skew between the provider and us
MIN_DUPLICATE_WORDS = 8  # shorter texts are never near-duplicates (see the module doc)

_MONTHS = {name: number for number, name in enumerate(
    ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"), start=1
)}
# X's classic format, parsed by hand: strptime's %a and %b follow the process locale.
_X_CLASSIC = re.compile(
    r"(?:Mon|Tue|Wed|Thu|Fri|Sat|Sun) ([A-Z][a-z]{2}) (\d{2}) "
    r"(\d{2}):(\d{2}):(\d{2}) ([+-])(\d{2})(\d{2}) (\d{4})"
)
# Counts have at most 18 digits (below 2**63): a longer digit string is not a real count, and
# int() refuses strings of more than 4,300 digits with an error of its own.
MAX_COUNT_DIGITS = 18
_INTEGER = re.compile(rf"[+-]?\d{{1,{MAX_COUNT_DIGITS}}}")
# Epoch seconds (9-10 digits: 2001-2286) or milliseconds (12-13 digits), optionally with a fraction.
_EPOCH = re.compile(r"(\d{9,10}|\d{12,13})(?:\.\d{1,9})?")


class RetrievalError(Exception):
    """Too few usable posts to go on; str() is the one-line reason."""


class UnusablePost(Exception):
    """A raw post that cannot be used; `reason` is its drop reason."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


def retrieve(
    result: ScrapeResult, *, min_posts: int = MIN_POSTS, max_posts: int | None = None
) -> RetrievalResult:
    """Validate, normalise and de-duplicate `result`'s posts; keep the newest `max_posts` if given.

    RetrievalError when fewer than `min_posts` usable posts remain.
    """
    dropped: Counter[str] = Counter()
    parsed: list[tuple[Post, bool]] = []
    account = _account(result)
    for raw in result.posts:
        try:
            parsed.append(parse_post_offset(raw, fetched_at=result.fetched_at, platform=result.platform,
                                            account=account))
        except UnusablePost as unusable:
            dropped[unusable.reason] += 1
    parsed.sort(key=lambda pair: (pair[0].created_at, len(pair[0].id), pair[0].id))
    naive = {id(post) for post, had_offset in parsed if not had_offset}
    kept = _without_duplicates([post for post, _ in parsed], dropped)
    if max_posts is not None and len(kept) > max_posts:
        dropped["over_max_posts"] += len(kept) - max_posts
        kept = kept[-max_posts:]
    if len(kept) < min_posts:
        raise RetrievalError(_too_few(result, len(kept), min_posts, dropped))
    return RetrievalResult(posts=tuple(kept), dropped=dropped, assumed_utc=sum(id(post) in naive for post in kept))


def _account(result: ScrapeResult) -> AccountKey | None:
    try:
        return AccountKey.parse(result.platform, result.username)
    except InvalidAccount:
        return None


def parse_post(raw: RawPost, *, fetched_at: datetime, platform: str = "twitter") -> Post:
    """One validated Post; UnusablePost(reason) when the raw post cannot be used."""
    return parse_post_offset(raw, fetched_at=fetched_at, platform=platform)[0]


def parse_post_offset(raw: RawPost, *, fetched_at: datetime, platform: str = "twitter",
                      account: AccountKey | None = None) -> tuple[Post, bool]:
    """(the validated Post, whether its timestamp had an offset); UnusablePost(reason) when the raw
    post cannot be used. `account`, when given, drops posts the source says another account wrote."""
    post_id = raw.id.strip()
    if not post_id:
        raise UnusablePost("missing_id")
    text = clean_text(raw.text)
    if not text:
        raise UnusablePost("missing_text")
    if raw.is_repost or (platform == "twitter" and text.startswith("RT @")):
        raise UnusablePost("repost")
    if account is not None and raw.author is not None and not account.is_named(raw.author):
        raise UnusablePost("other_account")
    created_at, had_offset = parse_timestamp_offset(raw.created_at)
    if created_at > fetched_at + FUTURE_TOLERANCE:
        raise UnusablePost("future_timestamp")
    views = None if raw.views is None or raw.views == "" else parse_count(raw.views)
    replies = None if raw.replies is None or raw.replies == "" else parse_count(raw.replies)
    links = extract_links(text)
    post = Post(
        id=post_id,
        text=text,
        created_at=created_at,
        likes=parse_count(raw.likes),
        reposts=parse_count(raw.reposts),
        replies=replies,
        views=views,
        hashtags=extract_hashtags(text),
        mentions=extract_mentions(text),
        links=links,
        is_reply=bool(text.startswith("@") if raw.is_reply is None else raw.is_reply),
        is_thread=bool(raw.is_thread),
        is_quote=bool(any(is_post_link(link) for link in links) if raw.is_quote is None else raw.is_quote),
        has_media=(True if shows_media(text) else None) if raw.has_media is None else raw.has_media,
        has_link=(any(not is_post_link(link) and not is_media_link(link) for link in links) if raw.has_link is None
                  else raw.has_link),
    )
    return post, had_offset


def parse_timestamp(value: str) -> datetime:
    """A UTC datetime from ISO 8601, X's classic format or epoch seconds / milliseconds;
    UnusablePost otherwise."""
    return parse_timestamp_offset(value)[0]


def parse_timestamp_offset(value: str) -> tuple[datetime, bool]:
    """(UTC datetime, whether the text had a time zone); a timestamp without one is taken as UTC.
    Epoch times are UTC by definition."""
    value = value.strip()
    if not value:
        raise UnusablePost("missing_timestamp")
    classic = _X_CLASSIC.fullmatch(value)
    had_offset = True
    try:
        epoch = _EPOCH.fullmatch(value)
        if epoch:
            number = float(value)
            moment = datetime.fromtimestamp(number / 1000 if len(epoch.group(1)) >= 12 else number, tz=timezone.utc)
        elif classic:
            month, day, hour, minute, second, sign, off_h, off_m, year = classic.groups()
            offset = timedelta(hours=int(off_h), minutes=int(off_m)) * (1 if sign == "+" else -1)
            moment = datetime(int(year), _MONTHS[month], int(day), int(hour), int(minute),
                              int(second), tzinfo=timezone(offset))
        elif len(value) > 10:  # a date alone has no time of day to analyse
            moment = datetime.fromisoformat(value)
        else:
            raise UnusablePost("bad_timestamp")
        if moment.tzinfo is None:
            had_offset = False
            moment = moment.replace(tzinfo=timezone.utc)
        moment = moment.astimezone(timezone.utc)  # OverflowError near year 1 or 9999
    except (ValueError, KeyError, OverflowError, OSError):
        raise UnusablePost("bad_timestamp") from None
    if moment < EARLIEST_VALID:
        raise UnusablePost("bad_timestamp")
    return moment, had_offset


def parse_count(value: object) -> int:
    """A non-negative integer from a number or a digit string; UnusablePost otherwise."""
    if value is None or (isinstance(value, str) and not value.strip()):
        raise UnusablePost("missing_count")
    if isinstance(value, bool):
        raise UnusablePost("bad_count")
    if isinstance(value, int) and abs(value) < 10**MAX_COUNT_DIGITS:
        number = value
    elif isinstance(value, float) and value.is_integer() and abs(value) < 10**MAX_COUNT_DIGITS:
        number = int(value)
    elif isinstance(value, str) and _INTEGER.fullmatch(value.strip()):
        number = int(value.strip())
    else:
        raise UnusablePost("bad_count")
    if number < 0:
        raise UnusablePost("negative_count")
    return number


def _without_duplicates(posts: list[Post], dropped: Counter[str]) -> list[Post]:
    """`posts` (oldest first) without repeated ids or near-identical texts of at least
    MIN_DUPLICATE_WORDS words; earliest kept."""
    comparable = [_long_enough(comparable_text(post.text)) for post in posts]
    index = NearDuplicateIndex(text for text in comparable if text)
    seen_ids: set[str] = set()
    kept = []
    for post, text in zip(posts, comparable, strict=True):
        if post.id in seen_ids:
            dropped["duplicate_id"] += 1
        elif index.is_near_duplicate(text):
            dropped["near_duplicate"] += 1
        else:
            seen_ids.add(post.id)
            index.add(text)
            kept.append(post)
    return kept


def _long_enough(comparable: str) -> str:
    """The comparable text if it has enough words to be compared, else "" (never a near-duplicate)."""
    return comparable if comparable.count(" ") + 1 >= MIN_DUPLICATE_WORDS else ""


def _too_few(result: ScrapeResult, usable: int, needed: int, dropped: Counter[str]) -> str:
    if not result.posts:
        return f"no posts found for {result.username} (provider {result.provider})"
    reasons = ", ".join(f"{reason} {count}" for reason, count in dropped.most_common())
    return (
        f"not enough usable posts for {result.username}: {usable} of {len(result.posts)} usable, "
        f"at least {needed} needed (dropped: {reasons or 'none'})"
    )
