"""Per-post features that need no engagement: format and text shape, and time of posting.

Shared by the engagement model, the posting-slot analysis and format advice, so a post means the
same thing to all of them. Time is UTC throughout (the hour of the week is a UTC slot).
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from datetime import datetime
from typing import Final

import numpy as np

from content_miner.pipeline.models import Post

# Formats whose effect format advice measures, with how the plan names them.
FORMAT_FLAGS: Final = ("is_reply", "is_thread", "is_quote", "has_media", "has_link")
_URL = re.compile(r"https?://\S+|\bpic\.twitter\.com/\S+", re.IGNORECASE)
_HASHTAG = re.compile(r"(?<![\w&#])#\w*[^\W\d]\w*")
_MENTION = re.compile(r"(?<![\w@])@\w{1,15}")
FORMAT_FEATURES: Final = (*FORMAT_FLAGS, "log_chars", "log_words", "hashtags", "mentions", "links_in_text",
                          "question", "exclaim", "starts_mention", "caps_share")


def flag(post: Post, name: str) -> bool:
    """A format flag; an unknown one (None: the source cannot tell) counts as absent."""
    return bool(getattr(post, name))


def format_row(post: Post) -> list[float]:
    text = post.text
    bare = _URL.sub("", text)
    letters = [c for c in bare if c.isalpha()]
    return [
        *(float(flag(post, name)) for name in FORMAT_FLAGS),
        float(np.log1p(len(bare))),
        float(np.log1p(len(bare.split()))),
        float(min(len(_HASHTAG.findall(bare)), 5)),
        float(min(len(_MENTION.findall(bare)), 5)),
        float(min(len(_URL.findall(text)), 3)),
        float("?" in bare),
        float("!" in bare),
        float(text.startswith("@")),
        sum(c.isupper() for c in letters) / max(len(letters), 1),
    ]


def format_matrix(posts: Sequence[Post]) -> np.ndarray:
    """(n, len(FORMAT_FEATURES)): format flags and text shape."""
    if not posts:
        return np.zeros((0, len(FORMAT_FEATURES)))
    return np.asarray([format_row(p) for p in posts], dtype=np.float64)


TIME_FEATURES: Final = 4 + 7  # hour-of-day harmonics, weekday one-hot


def time_matrix(times: Sequence[datetime]) -> np.ndarray:
    """(n, 11): UTC hour-of-day harmonics (daily and half-daily) and a weekday one-hot."""
    if not times:
        return np.zeros((0, TIME_FEATURES))
    hours = np.array([t.hour + t.minute / 60 for t in times])
    days = np.array([t.weekday() for t in times])
    angle = 2 * np.pi * hours / 24
    harmonics = np.column_stack([np.sin(angle), np.cos(angle), np.sin(2 * angle), np.cos(2 * angle)])
    return np.column_stack([harmonics, np.eye(7)[days]])


def slot_of(when: datetime) -> int:
    """Hour of the week in UTC: 0 = Monday 00:00, 167 = Sunday 23:00."""
    return when.weekday() * 24 + when.hour


def days_since(times: Sequence[datetime], origin: datetime) -> np.ndarray:
    return np.array([(t - origin).total_seconds() / 86400 for t in times], dtype=np.float64)


def week_ids(times: Sequence[datetime]) -> np.ndarray:
    """ISO year * 100 + ISO week: posts of one week share a news cycle (bootstrap blocks)."""
    return np.array([t.isocalendar()[0] * 100 + t.isocalendar()[1] for t in times], dtype=np.int64)
