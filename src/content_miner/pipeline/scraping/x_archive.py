"""Importer for the X (Twitter) data archive's posts file, `data/tweets.js`.

The archive stores posts as a JavaScript assignment of a JSON array::

    window.YTD.tweets.part0 = [ {"tweet": {"id_str": "...", "full_text": "...",
        "created_at": "Wed Oct 10 20:19:24 +0000 2018", "favorite_count": "3",
        "retweet_count": "1", ...}}, ... ]

Counts are strings in real archives; Stage 2 parses them. Older archives name the file
`tweet.js` (`window.YTD.tweet.part0`). The archive has no reply counts: replies are None (the plan
says so and leaves them out of engagement). Replies, threads, quotes, media and links come from
`in_reply_to_*`, `entities` and `extended_entities` (`post_format`).
"""

from __future__ import annotations

import codecs
import re
from pathlib import Path
from typing import Any

from content_miner.common.account import AccountKey
from content_miner.common.json_input import JsonInputError, parse_json
from content_miner.pipeline.models import RawPost
from content_miner.pipeline.scraping.base import ScrapeError
from content_miner.pipeline.scraping.file_importer import FileImporter
from content_miner.pipeline.scraping.post_format import format_flags
from content_miner.pipeline.scraping.record_fields import lower_keys, text_field

ARCHIVE_FILE_NAMES = ("tweets.js", "tweet.js")
POST_DATA_NAMES = ("tweets", "tweet")  # the `<name>` in window.YTD.<name>.partN
_ASSIGNMENT = re.compile(r"\s*window\.YTD\.([A-Za-z0-9_]+)\.part(\d+)\s*=\s*")
_SNIFF_BYTES = 256


class XArchiveImporter(FileImporter):
    name = "x-archive"
    label = "X archive"

    def parse(self, text: str, path: Path, account: AccountKey | None = None) -> list[RawPost]:
        return parse_x_archive(text, label=path.name, account=account)


def looks_like_x_archive(path: Path) -> bool:
    """True for `tweets.js`, any `.js` file, or a file that starts like an archive data file."""
    if path.name.lower() in ARCHIVE_FILE_NAMES or path.suffix.lower() == ".js":
        return True
    try:
        with path.open("rb") as handle:
            head = handle.read(_SNIFF_BYTES)
    except OSError:
        return False
    utf16 = head.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE))
    encoding = "utf-16" if utf16 else "utf-8-sig"
    return head.decode(encoding, errors="ignore").lstrip().startswith("window.YTD.")


def parse_x_archive(text: str, *, label: str = "tweets.js", account: AccountKey | None = None) -> list[RawPost]:
    """The posts in an archive data file's text; ScrapeError if the file is not a usable archive."""
    assignment = _ASSIGNMENT.match(text)
    if assignment is None:
        raise ScrapeError(
            f"{label} is not an X archive posts file "
            "(it should start with 'window.YTD.tweets.part0 = [')"
        )
    data_name = assignment.group(1)
    if data_name not in POST_DATA_NAMES:
        raise ScrapeError(
            f"{label} holds the archive's {data_name!r} data, not posts (use tweets.js)"
        )
    body = text[assignment.end():].rstrip().removesuffix(";")
    try:
        items = parse_json(body)
    except JsonInputError as exc:
        where = f" at line {text.count(chr(10), 0, assignment.end()) + exc.line}" if exc.line else ""
        raise ScrapeError(f"{label} is malformed or truncated: {exc.reason}{where}") from None
    if not isinstance(items, list):
        raise ScrapeError(f"{label} is malformed: expected a list of posts after '='")
    return [_raw_post(item, index, label, account) for index, item in enumerate(items)]


def _raw_post(item: Any, index: int, label: str, account: AccountKey | None) -> RawPost:
    post = item.get("tweet", item) if isinstance(item, dict) else None
    if not isinstance(post, dict):
        raise ScrapeError(f"{label} is malformed: item {index} is not a post object")
    post_id = text_field(post.get("id_str", post.get("id")))
    flags = format_flags(lower_keys(post), post_id, account)
    return RawPost(
        id=post_id,
        text=text_field(post.get("full_text", post.get("text"))),
        created_at=text_field(post.get("created_at")),
        likes=post.get("favorite_count"),  # None when absent: Stage 2 counts it as missing
        reposts=post.get("retweet_count"),
        replies=None,  # the archive does not record replies to a post
        views=None,
        is_reply=flags.is_reply,
        is_thread=flags.is_thread,
        is_quote=flags.is_quote,
        has_media=flags.has_media,
        has_link=flags.has_link,
        is_repost=flags.is_repost,
        author=flags.author,
    )
