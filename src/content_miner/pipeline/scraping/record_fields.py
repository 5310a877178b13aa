"""The column names that public post dumps use for each field, and one reader over them.

Seen in real, published dumps (twint CSV exports, scraped CSVs, Twitter API v1.1 JSON, X data
archives, the importer's own JSONL):

- id: `id_str`, `id`, `tweet_id`, `status_id`
- text: `text`, `full_text` (archives, API v1.1 extended), `tweet` (twint, scraped CSVs), `content`
- created_at: `created_at` (ISO 8601, X's classic format, or epoch seconds / milliseconds as in
  twint), `timestamp`, `datetime`, `date` (with a time, or twint's `date` + `time`), `timestamp_epochs`
- likes: `likes`, `likes_count` (twint), `favorite_count` (API, archives), `favourite_count`,
  `like_count`, `favorites`
- reposts: `reposts`, `retweets`, `retweets_count` (twint), `retweet_count`, `repost_count`
- replies (optional): `replies`, `replies_count` (twint), `reply_count`
- views (optional): `views`, `impression_count`, `view_count`

The first name a record has and fills wins. Names are matched case-insensitively after trimming spaces.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Final

FIELD_ALIASES: Final[dict[str, tuple[str, ...]]] = {
    # `id_str` first: exporters written in JavaScript round the numeric `id` past 2**53.
    "id": ("id_str", "id", "tweet_id", "status_id"),
    "text": ("text", "full_text", "tweet", "content"),
    "created_at": ("created_at", "timestamp", "datetime", "date", "timestamp_epochs"),
    "likes": ("likes", "likes_count", "favorite_count", "favourite_count", "like_count", "favorites"),
    "reposts": ("reposts", "retweets", "retweets_count", "retweet_count", "repost_count"),
    "replies": ("replies", "replies_count", "reply_count"),
    "views": ("views", "impression_count", "view_count"),
}
REQUIRED: Final = ("id", "text", "created_at", "likes", "reposts")
OPTIONAL: Final = ("replies", "views")


def lower_keys(record: Mapping[Any, Any]) -> dict[str, Any]:
    return {str(key).strip().lower(): value for key, value in record.items()}


def first_present(record: Mapping[str, Any], field: str) -> Any:
    """The value of the first alias of `field` that `record` (lower-case keys) has and fills; None
    when none does. An empty string counts as not filled, so a blank `timestamp` column does not
    hide a filled `created_at`."""
    for name in FIELD_ALIASES[field]:
        value = record.get(name)
        if value is not None and value != "":
            return value
    return None


def missing_columns(columns: list[str], required: tuple[str, ...] = REQUIRED) -> list[str]:
    """Required fields none of whose aliases is among `columns` (lower case)."""
    present = set(columns)
    return [field for field in required if not present.intersection(FIELD_ALIASES[field])]


def described(field: str) -> str:
    """'likes (or likes_count, favorite_count, ...)' for an error message."""
    others = FIELD_ALIASES[field][1:]
    return f"{field} (or {', '.join(others)})" if others else field


def text_field(value: Any) -> str:
    """A field as text: strings as they are, ids and epoch times written as JSON numbers as digits;
    anything else (lists, objects, booleans) is unusable: ''."""
    if isinstance(value, str):
        return value
    if isinstance(value, int) and not isinstance(value, bool):
        return str(value)
    if isinstance(value, float) and value.is_integer() and abs(value) < 1e16:
        return str(int(value))  # an epoch time or an id written as a JSON float
    return ""
