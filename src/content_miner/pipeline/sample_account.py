"""A generated, realistic sample account: for the README demo and for tests with planted patterns.

A hobbyist maker in US Eastern time posts about six subjects for a few months. Posting times
follow a waking-day curve (few posts at night, fewer at weekends); engagement follows a
log-normal around a daily and weekly rhythm, a slow audience growth, and each subject's appeal.
Tests can plant a pattern: one UTC hour of day and/or one subject multiplied by `boost`; a share of
replies (`@friend ...`) or of posts with an image, each with its own engagement factor; and the
daily and weekly rhythm can be switched off (`time_rhythm=False`) for a control without any.

    python -m content_miner.pipeline.sample_account OUT.jsonl [--posts N] [--seed S]

writes the generic JSONL format (id, text, created_at, likes, reposts, replies, views).
The same arguments always give the same file.
"""

from __future__ import annotations

import argparse
import importlib.resources
import json
import math
import re
from collections.abc import Iterable, Sequence
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import numpy as np

from content_miner.pipeline.models import Post
from content_miner.pipeline.sample_topics import SAMPLE_TOPICS, SampleTopic

SAMPLE_START = datetime(2025, 1, 6, tzinfo=timezone.utc)  # a Monday
SAMPLE_FILE = "samples/sample_account.jsonl"

# Relative posting activity per UTC hour (US Eastern is UTC-5: awake roughly 11:00-04:00 UTC).
_POSTING_BY_HOUR = np.array(
    [3, 2.5, 2, 1.2, 0.6, 0.3, 0.2, 0.2, 0.2, 0.3, 0.6, 1.2,
     2, 2.6, 3, 3, 3, 2.8, 2.6, 2.6, 2.8, 3, 3.2, 3.2]
)
_POSTING_BY_WEEKDAY = np.array([1.0, 1.05, 1.05, 1.0, 0.95, 0.7, 0.65])
# Engagement rhythm: lunch and evening (Eastern) audiences, quieter weekends.
_ENGAGEMENT_BY_HOUR = 1.0 + 0.25 * np.cos((np.arange(24) - 17) / 24 * 2 * math.pi)
_ENGAGEMENT_BY_WEEKDAY = np.array([1.0, 1.05, 1.1, 1.05, 0.95, 0.8, 0.85])
_HASHTAG = re.compile(r"#(\w+)")
_MENTION = re.compile(r"^@(\w+)")
_FRIENDS = ("maya_builds", "devon_k", "trailtess", "plantdad_sam", "lens_and_grain", "budget_bea")


def _compose(topic: SampleTopic, rng: np.random.Generator) -> str:
    opener, subject, closer = (
        str(rng.choice(topic.openers)), str(rng.choice(topic.subjects)), str(rng.choice(topic.closers))
    )
    text = f"{opener} {subject}. {closer}"
    tags = rng.choice(topic.hashtags, size=int(rng.integers(0, 3)), replace=False)
    return " ".join([text, *(f"#{t}" for t in tags)])


def generate_sample_posts(
    *,
    seed: int = 7,
    n_posts: int = 360,
    start: datetime = SAMPLE_START,
    days: int = 120,
    topics: Sequence[SampleTopic] = SAMPLE_TOPICS,
    boosted_hour: int | None = None,
    boosted_topic: str | None = None,
    boost: float = 1.0,
    reply_share: float = 0.0,
    reply_factor: float = 1.0,
    media_share: float = 0.0,
    media_factor: float = 1.0,
    time_rhythm: bool = True,
) -> list[Post]:
    """`n_posts` posts between `start` and `start + days`, oldest first, fully determined by `seed`."""
    if n_posts < 1 or days < 1:
        raise ValueError("n_posts and days must be positive")
    if not 0 <= reply_share <= 1 or not 0 <= media_share <= 1:
        raise ValueError("reply_share and media_share must be between 0 and 1")
    rng = np.random.default_rng(seed)
    formats = np.random.default_rng(seed + 1_000_003)  # its own stream: the default sample stays the same
    slot_weights = np.outer(_POSTING_BY_WEEKDAY, _POSTING_BY_HOUR)
    if boosted_hour is not None:  # planted hour: make sure it has enough posts to be detected
        slot_weights[:, boosted_hour] = np.maximum(slot_weights[:, boosted_hour], slot_weights.mean())
    day_weights = np.array([_POSTING_BY_WEEKDAY[(start + timedelta(d)).weekday()] for d in range(days)])
    topic_weights = np.array([t.share for t in topics])
    posts: list[Post] = []
    for index in range(n_posts):
        day = int(rng.choice(days, p=day_weights / day_weights.sum()))
        when = start + timedelta(days=day)
        hours = slot_weights[when.weekday()]
        hour = int(rng.choice(24, p=hours / hours.sum()))
        created = when.replace(hour=hour, minute=int(rng.integers(0, 60)), second=int(rng.integers(0, 60)))
        topic = topics[int(rng.choice(len(topics), p=topic_weights / topic_weights.sum()))]
        scale = topic.appeal * (1.0 + 0.35 * day / days)
        if time_rhythm:
            scale *= _ENGAGEMENT_BY_HOUR[hour] * _ENGAGEMENT_BY_WEEKDAY[created.weekday()]
        if hour == boosted_hour:
            scale *= boost
        if topic.key == boosted_topic:
            scale *= boost
        is_reply = bool(formats.random() < reply_share) if reply_share else False
        has_media = bool(formats.random() < media_share) if media_share else False
        scale *= (reply_factor if is_reply else 1.0) * (media_factor if has_media else 1.0)
        likes = int(rng.lognormal(math.log(30 * scale), 0.55))
        text = _compose(topic, rng)
        if is_reply:
            text = f"@{_FRIENDS[int(formats.integers(0, len(_FRIENDS)))]} {text}"
        posts.append(
            Post(
                id=f"{1_870_000_000_000 + index * 7919}",
                text=text,
                created_at=created,
                likes=likes,
                reposts=int(rng.poisson(likes * 0.12)),
                replies=int(rng.poisson(likes * 0.05)),
                views=int(likes * rng.uniform(25, 60)) + int(rng.integers(50, 200)),
                hashtags=tuple(tag.lower() for tag in _HASHTAG.findall(text)),
                mentions=tuple(m.lower() for m in _MENTION.findall(text)),
                is_reply=is_reply,
                has_media=True if has_media else None,
            )
        )
    posts.sort(key=lambda p: (p.created_at, p.id))
    return posts


def topic_of(post: Post, topics: Sequence[SampleTopic] = SAMPLE_TOPICS) -> str:
    """Which sample topic wrote `post` (tests use it to check clustering against the truth)."""
    for topic in topics:
        if any(post.text.startswith(opener) for opener in topic.openers):
            return topic.key
    raise ValueError(f"post {post.id} is not from a sample topic")


def to_record(post: Post) -> dict[str, object]:
    record: dict[str, object] = {
        "id": post.id,
        "text": post.text,
        "created_at": post.created_at.isoformat().replace("+00:00", "Z"),
        "likes": post.likes,
        "reposts": post.reposts,
        "replies": post.replies,
        "views": post.views,
    }
    if post.is_reply:  # format fields only where set: the shipped sample has none
        record["is_reply"] = True
    if post.has_media:
        record["has_media"] = True
    return record


def from_record(record: dict[str, Any]) -> Post:
    """A Post from one decoded JSON line of the sample file (values as `to_record` wrote them)."""
    text = str(record["text"])
    return Post(
        id=str(record["id"]),
        text=text,
        created_at=datetime.fromisoformat(str(record["created_at"]).replace("Z", "+00:00")),
        likes=int(record["likes"]),
        reposts=int(record["reposts"]),
        replies=int(record["replies"]),
        views=None if record.get("views") is None else int(record["views"]),
        hashtags=tuple(tag.lower() for tag in _HASHTAG.findall(text)),
        mentions=tuple(m.lower() for m in _MENTION.findall(text)),
        is_reply=bool(record.get("is_reply", False)),
        has_media=True if record.get("has_media") else None,
    )


def to_jsonl(posts: Iterable[Post]) -> str:
    return "".join(json.dumps(to_record(p), ensure_ascii=False) + "\n" for p in posts)


def load_sample_posts() -> list[Post]:
    """The shipped sample account, read from package data."""
    raw = importlib.resources.files("content_miner.pipeline").joinpath(SAMPLE_FILE).read_text("utf-8")
    return [from_record(json.loads(line)) for line in raw.splitlines() if line.strip()]


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m content_miner.pipeline.sample_account")
    parser.add_argument("out", type=Path, help="the JSONL file to write")
    parser.add_argument("--posts", type=int, default=360)
    parser.add_argument("--seed", type=int, default=7)
    args = parser.parse_args(argv)
    if args.posts < 1:
        parser.error("--posts must be at least 1")
    body = to_jsonl(generate_sample_posts(seed=args.seed, n_posts=args.posts))
    try:
        args.out.write_text(body, encoding="utf-8")
    except OSError as exc:
        parser.exit(1, f"error: cannot write {args.out}: {exc.strerror}\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
