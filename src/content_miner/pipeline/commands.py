"""The work of Module 1's tools, `backtest` and `predict`, once the entry point has checked their flags.

Neither reports stages to the tracker (they are tools, not pipeline runs) and both write only
under the data directory: `backtest` the raw cache, the vector index and cache (as a pipeline run
would) and `exports/<platform>/<username>/backtest.json`; `predict` nothing at all.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path

import numpy as np

from content_miner.common.account import AccountKey
from content_miner.common.atomic_files import write_text_atomic
from content_miner.common.layout import DataLayout
from content_miner.pipeline.account import AccountRequest
from content_miner.pipeline.backtest import BacktestError, run_backtest
from content_miner.pipeline.embedding import EmbeddingModelError, load_embedder
from content_miner.pipeline.engagement_model import ModelFileError, load_model
from content_miner.pipeline.models import Post
from content_miner.pipeline.prediction import read_posts_to_score, score
from content_miner.pipeline.retrieval import RetrievalError, retrieve
from content_miner.pipeline.scraping import ScrapeError, ScrapeSettings, default_providers, scrape
from content_miner.pipeline.time_series import InsufficientDataError
from content_miner.pipeline.vector_cache import fill_known, load_vectors, text_hash
from content_miner.pipeline.vector_index import PostIndex, VectorIndexError, collection_name, document_id

logger = logging.getLogger(__name__)


class CommandError(Exception):
    """A tool could not do its work; str() is the one line for the user."""


@dataclass(frozen=True)
class BacktestRun:
    table: str
    path: Path


def backtest(layout: DataLayout, request: AccountRequest, *, holdout: float, embedder_name: str,
             scrape_settings: ScrapeSettings, chroma_url: str | None, index_free: bool,
             now: Callable[[], datetime] = lambda: datetime.now(timezone.utc)) -> BacktestRun:
    """Stages 1-3 as the pipeline runs them, then the back-test; `index_free` (another Module 1
    holds the index) embeds without writing the index, reusing the vector cache where it can."""
    key = request.key
    try:
        scraped = scrape(request, layout=layout, settings=scrape_settings, providers=default_providers(), now=now())
        posts = retrieve(scraped, max_posts=request.max_posts).posts
        embedder = load_embedder(embedder_name)
        if index_free:
            embeddings = _embed_without_index(layout, key, posts, embedder_name)
        else:
            index = PostIndex.open(layout.vector_index, chroma_url=chroma_url, embedder=embedder, layout=layout)
            embeddings = index.index_posts(key.platform, key.username, posts).embeddings
        report = run_backtest(posts, embeddings, platform=key.platform, username=key.username, holdout=holdout,
                              embedder=embedder.name)
    except (ScrapeError, RetrievalError, VectorIndexError, BacktestError, EmbeddingModelError,
            InsufficientDataError) as exc:
        raise CommandError(" ".join(str(exc).split())) from None
    path = layout.account_backtest(key)
    try:
        write_text_atomic(path, report.model_dump_json(indent=2))
    except OSError as exc:
        raise CommandError(f"cannot write {path}: {exc.strerror or exc}") from None
    return BacktestRun(report.table(), path)


def _embed_without_index(layout: DataLayout, key: AccountKey, posts: tuple[Post, ...],
                         embedder_name: str) -> np.ndarray:
    embedder = load_embedder(embedder_name)
    cached = load_vectors(layout.account_vectors(key, collection_name(embedder)), embedder.name, embedder.dim)
    vectors = np.zeros((len(posts), embedder.dim), dtype=np.float32)
    missing = fill_known(vectors, [document_id(key.platform, key.username, post.id) for post in posts],
                         [text_hash(post.text) for post in posts], cached.by_id() if cached is not None else {})
    if missing:
        vectors[missing] = embedder.embed([posts[row].text for row in missing])
    return vectors


def predict(layout: DataLayout, key: AccountKey, posts_file: Path, *,
            now: Callable[[], datetime] = lambda: datetime.now(timezone.utc)) -> tuple[list[str], str]:
    """JSON lines for the posts in `posts_file`, and a note on stderr's line ("" for none)."""
    try:
        saved = load_model(layout.account_engagement_model(key))
    except ModelFileError:
        raise CommandError(f"no engagement model for {key.label} yet: build its plan first "
                           f"(Miners/main.py --platform {key.platform} --username {key.username} "
                           "[--source FILE])") from None
    try:
        batch = read_posts_to_score(posts_file, key, now())
        results = score(saved, batch.posts, now())
    except (ScrapeError, EmbeddingModelError, ValueError) as exc:
        raise CommandError(" ".join(str(exc).split())) from None
    lines = [json.dumps(result, ensure_ascii=False) for result in results]
    note = ""
    if batch.dropped:
        reasons = ", ".join(f"{reason} {count}" for reason, count in batch.dropped.most_common())
        note = f"{sum(batch.dropped.values())} posts not scored ({reasons})"
    return lines, note
