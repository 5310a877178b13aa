"""`Miners/main.py predict`: score any posts (drafts before posting) with the account's engagement model.

The model is the one the account's last plan was built with (`DataLayout.account_engagement_model`).
The posts come in the import formats (JSONL, JSON, CSV, an X archive); only the text is required:
no counts (a draft has none), no id (the line number is used), no time (now). Format fields the
file has (`has_media`, `is_reply`, ...) are used, else they are read from the text, as in Stage 2.
Each post gets one JSON line: `{"id", "predicted_engagement", "low", "high"}`, where [low, high]
is the model's 50 % interval.
"""

from __future__ import annotations

import logging
from collections import Counter
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from pathlib import Path

import numpy as np

from content_miner.common.account import AccountKey
from content_miner.pipeline.embedding import load_embedder
from content_miner.pipeline.engagement_model import EngagementModel, SavedModel
from content_miner.pipeline.models import Post
from content_miner.pipeline.retrieval import UnusablePost, parse_post_offset
from content_miner.pipeline.scraping.source_text import read_source_text
from content_miner.pipeline.scraping.tabular import parse_csv, parse_json_records
from content_miner.pipeline.scraping.x_archive import looks_like_x_archive, parse_x_archive

logger = logging.getLogger(__name__)

MAX_POSTS_TO_SCORE = 100_000
DRAFT_HORIZON = timedelta(days=3650)


@dataclass(frozen=True)
class PostsToScore:
    posts: list[Post]
    dropped: Counter[str]


def read_posts_to_score(path: Path, key: AccountKey, now: datetime) -> PostsToScore:
    """The posts in `path` as Posts to score; ScrapeError for a file that cannot be read."""
    text = read_source_text(path)
    if looks_like_x_archive(path):
        raws = parse_x_archive(text, label=path.name, account=key)
    elif path.suffix.lower() == ".csv":
        raws = parse_csv(text, label=path.name, account=key, required=("text",))
    else:
        raws = parse_json_records(text, label=path.name, account=key)
    dropped: Counter[str] = Counter()
    posts: list[Post] = []
    for number, raw in enumerate(raws[:MAX_POSTS_TO_SCORE], start=1):
        filled = replace(raw, id=raw.id or str(number), created_at=raw.created_at or now.isoformat(),
                         likes=0, reposts=0, replies=0, is_repost=False, author=None)
        try:
            # Drafts may be dated ahead (when they are to be published): no future-timestamp limit.
            posts.append(parse_post_offset(filled, fetched_at=now + DRAFT_HORIZON, platform=key.platform)[0])
        except UnusablePost as unusable:
            dropped[unusable.reason] += 1
    if len(raws) > MAX_POSTS_TO_SCORE:
        dropped["over_max_posts"] += len(raws) - MAX_POSTS_TO_SCORE
    return PostsToScore(posts, dropped)


def score(saved: SavedModel, posts: list[Post], now: datetime) -> list[dict[str, object]]:
    """One result per post, in order: id, predicted engagement and the 50 % interval."""
    if not posts:
        return []
    model: EngagementModel = saved.model
    embeddings = None
    if "content" in model.groups:
        embeddings = load_embedder(saved.embedder).embed([p.text for p in posts])
    # How far past the model's newest post each one is published: the interval widens with it.
    horizon = np.array([max((p.created_at - model.end).total_seconds() / 86400, 0.0) for p in posts])
    prediction = model.predict(posts, embeddings, horizon_days=horizon)
    return [
        {"id": post.id, "predicted_engagement": int(prediction.median[i]),
         "low": int(prediction.low[i]), "high": int(prediction.high[i])}
        for i, post in enumerate(posts)
    ]
