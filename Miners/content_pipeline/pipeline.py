"""One account through stages 1-7, with the tracker calls at this level and nowhere else.

Each stage is a function in its own module (scraping, retrieval, vector_index, time_series,
generation, export); this file only sequences them, reports each transition, and turns every
failure into one line: `stage_failed(n, reason)` and a `StageFailure` for the caller.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import TypeVar

from stage_calls import stage_complete, stage_failed, stage_start

from content_pipeline.account import AccountFileError, AccountRequest
from content_pipeline.embedding import Embedder, EmbeddingModelError, load_embedder
from content_pipeline.export import ExportError, export_plan
from content_pipeline.generation import PlanGenerationError, generate_plan
from content_pipeline.llm_drafts import drafter_from_env
from content_pipeline.retrieval import RetrievalError, retrieve
from content_pipeline.scraping import ScrapeError, ScrapeSettings, scrape
from content_pipeline.time_series import InsufficientDataError, analyse
from content_pipeline.vector_index import VectorIndexError, index_posts

logger = logging.getLogger(__name__)

T = TypeVar("T")

# Failures that are about the input or the environment: one line, no traceback.
EXPECTED_FAILURES = (
    AccountFileError, ScrapeError, RetrievalError, EmbeddingModelError, VectorIndexError,
    InsufficientDataError, PlanGenerationError, ExportError, OSError,
)


class Shutdown(BaseException):
    """Raised in the main thread by SIGTERM/SIGINT; the running stage is reported as interrupted."""


class StageFailure(Exception):
    """A stage failed; str() is the one-line reason already reported to the tracker."""

    def __init__(self, stage: int, reason: str) -> None:
        super().__init__(reason)
        self.stage = stage
        self.reason = reason


@dataclass(frozen=True)
class PipelineSettings:
    data_dir: Path
    scrape: ScrapeSettings
    recommendations: int = 15
    chroma_url: str | None = None  # None: $CHROMA_URL, else the embedded store
    embedder_name: str | None = None


@dataclass
class PipelineResult:
    platform: str
    username: str
    posts: int
    recommendations: int
    plan_path: Path
    stage_seconds: dict[int, float] = field(default_factory=dict)


def utc_now() -> datetime:
    return datetime.now(timezone.utc)


class AccountPipeline:
    def __init__(self, settings: PipelineSettings, *, clock: Callable[[], datetime] = utc_now) -> None:
        self.settings = settings
        self.clock = clock

    def warm_up(self) -> None:
        """Load the embedding model and open the index now, so the first account is not slower."""
        self._embedder().embed(["warm up"])
        index_posts([], platform="twitter", username="warmup", data_dir=self.settings.data_dir,
                    chroma_url=self.settings.chroma_url, embedder_name=self.settings.embedder_name)

    def run(self, request: AccountRequest, *, scrape_message: str | None = None) -> PipelineResult:
        """Stages 1-7 for one account. Raises StageFailure after reporting it."""
        name, platform = request.username, request.platform
        key = request.rules.path_key(name)  # the account's name in paths and in the plan
        seconds: dict[int, float] = {}
        fresh = " with fresh scraping" if request.force_fresh else ""
        now = self.clock()

        def stage(number: int, start: str, work: Callable[[], T], done: Callable[[T], str]) -> T:
            stage_start(number, start, name)
            began = time.perf_counter()
            try:
                value = work()
            except Shutdown:
                stage_failed(number, "Interrupted: Module 1 is shutting down", name)
                raise
            except EXPECTED_FAILURES as exc:
                self._fail(number, one_line(exc), name)
            except Exception as exc:  # a bug: the loop must go on, the log keeps the traceback
                logger.exception("Stage %d failed unexpectedly for %s", number, name)
                self._fail(number, f"internal error: {type(exc).__name__}: {one_line(exc)}", name)
            seconds[number] = time.perf_counter() - began
            stage_complete(number, done(value), name, {"seconds": round(seconds[number], 3)})
            return value

        scraped = stage(
            1, scrape_message or f"Processing {platform} account{fresh}",
            lambda: scrape(request, data_dir=self.settings.data_dir, settings=self.settings.scrape, now=now),
            lambda r: f"Successfully processed {platform} account ({len(r.posts)} posts"
                      f"{', from cache' if r.from_cache else ''})",
        )
        retrieved = stage(
            2, "Processing and validating data",
            lambda: retrieve(scraped, max_posts=request.max_posts),
            lambda r: f"Data validation successful ({len(r.posts)} usable posts, "
                      f"{sum(r.dropped.values())} dropped)",
        )
        posts = retrieved.posts
        indexed = stage(
            3, f"Indexing {len(posts)} posts in vector database",
            lambda: index_posts(posts, platform=platform, username=key, data_dir=self.settings.data_dir,
                                chroma_url=self.settings.chroma_url, embedder_name=self.settings.embedder_name),
            lambda r: "Successfully indexed posts in vector database "
                      f"({r.embedded} embedded, {r.reused} reused{f', {r.removed} removed' if r.removed else ''})",
        )
        analysis = stage(
            4, "Analyzing engagement data and patterns",
            lambda: analyse(posts, now),
            lambda a: f"Successfully analyzed engagement data (trend: {a.trend.direction})",
        )
        plan = stage(
            5, "Generating content recommendations",
            lambda: generate_plan(
                posts, indexed.embeddings, analysis, platform=platform, username=key, now=now,
                provider=scraped.provider, posts_dropped=sum(retrieved.dropped.values()),
                count=self.settings.recommendations, embedder=self._embedder(), drafter=drafter_from_env(),
            ),
            lambda p: f"Successfully generated content recommendations ({len(p.recommendations)})",
        )
        exported = stage(
            6, "Exporting content plan and results",
            lambda: export_plan(plan, analysis, self.settings.data_dir),
            lambda files: "Successfully exported content plan",
        )
        count = len(plan.recommendations)
        stage_complete(7, f"Pipeline completed - {count} recommendations generated", name,
                       {"plan": str(exported.plan_json), "seconds": round(sum(seconds.values()), 3)})
        return PipelineResult(platform, key, len(posts), count, exported.plan_json, seconds)

    def _embedder(self) -> Embedder:
        return load_embedder(self.settings.embedder_name) if self.settings.embedder_name else load_embedder()

    @staticmethod
    def _fail(stage: int, reason: str, username: str) -> None:
        stage_failed(stage, reason, username)
        raise StageFailure(stage, reason)


def one_line(exc: BaseException) -> str:
    text = " ".join(str(exc).split()) or type(exc).__name__
    return text if len(text) <= 300 else text[:297] + "..."
