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

from content_miner.common.account import AccountKey
from content_miner.common.layout import DataLayout
from content_miner.pipeline.account import AccountFileError, AccountRequest
from content_miner.pipeline.embedding import MINILM_NAME, Embedder, EmbeddingModelError, load_embedder
from content_miner.pipeline.export import ExportedFiles, ExportError, export_plan
from content_miner.pipeline.fit_cache import AccountFits, PriorFits, keep_fits, prior_fits
from content_miner.pipeline.generation import PlanGenerationError, generate_plan, topic_model
from content_miner.pipeline.llm_drafts import DraftWriter
from content_miner.pipeline.models import Post, RetrievalResult, ScrapeResult
from content_miner.pipeline.plan import ContentPlan
from content_miner.pipeline.progress import reporting
from content_miner.pipeline.retrieval import RetrievalError
from content_miner.pipeline.retrieval_cache import retrieve_reusing
from content_miner.pipeline.scraping import ProviderRegistry, ScrapeError, ScrapeSettings, default_providers, scrape
from content_miner.pipeline.time_series import EngagementAnalysis, InsufficientDataError, analyse
from content_miner.pipeline.topics import TopicModel
from content_miner.pipeline.vector_index import IndexedPosts, PostIndex, VectorIndexError
from content_miner.stage_calls import stage_complete, stage_failed, stage_progress, stage_start

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
    """What the entry point decided, once (flags and environment); every stage reads it from here."""

    layout: DataLayout
    scrape: ScrapeSettings = field(default_factory=ScrapeSettings)
    recommendations: int = 15
    chroma_url: str | None = None  # a Chroma server; None: the embedded store in the data directory
    embedder_name: str = MINILM_NAME
    drafter: DraftWriter | None = None  # drafts from an LLM endpoint; None: template drafts


@dataclass
class PipelineResult:
    platform: str
    username: str
    posts: int
    recommendations: int
    plan_path: Path
    plan_sha256: str
    stage_seconds: dict[int, float] = field(default_factory=dict)
    embed_seconds: float = 0.0  # of Stage 3's time, how much the embedder itself took


def utc_now() -> datetime:
    return datetime.now(timezone.utc)


class AccountPipeline:
    def __init__(self, settings: PipelineSettings, *, providers: ProviderRegistry | None = None,
                 clock: Callable[[], datetime] = utc_now) -> None:
        self.settings = settings
        self.layout = settings.layout
        self.providers = providers or default_providers()
        self.clock = clock
        self._index: PostIndex | None = None

    def warm_up(self) -> None:
        """Load the embedding model and open the index now, so the first account is not slower."""
        self._embedder().embed(["warm up"])
        self._post_index()

    def _post_index(self) -> PostIndex:
        if self._index is None:
            self._index = PostIndex.open(self.layout.vector_index, chroma_url=self.settings.chroma_url,
                                         embedder=self._embedder(), layout=self.layout)
        return self._index

    def _index_posts(self, key: AccountKey, posts: tuple[Post, ...]) -> IndexedPosts:
        try:
            return self._post_index().index_posts(key.platform, key.username, posts)
        except BaseException:
            # After any failure (a full disk, a lost server) the next account opens the index afresh
            # instead of trusting a client whose last write failed.
            self._drop_index()
            raise

    def _drop_index(self) -> None:
        if self._index is not None:
            self._index.close()
            self._index = None

    def run(self, request: AccountRequest, *, scrape_message: str | None = None,
            on_stage: Callable[[int], None] | None = None) -> PipelineResult:
        """Stages 1-7 for one account. Raises StageFailure after reporting it. `on_stage(n)` is
        told when each stage starts (the job record follows it)."""
        key = request.key
        name, platform = key.username, key.platform
        seconds: dict[int, float] = {}
        fresh = " with fresh scraping" if request.force_fresh else ""
        now = self.clock()

        def stage(number: int, start: str, work: Callable[[], T], done: Callable[[T], str],
                  items: Callable[[T], int] | None = None, size: int | None = None) -> T:
            """`size`: the stage's items known at its start (its ETA scales with them); `items`: the
            count its completion records, so later runs learn the per-item rate."""
            stage_start(number, start, name)
            if on_stage is not None:
                on_stage(number)
            if size:
                stage_progress(number, 0, size, name)
            began = time.perf_counter()
            try:
                with reporting(lambda finished, total: stage_progress(number, finished, total, name)):
                    value = work()
            except Shutdown:
                stage_failed(number, "Interrupted: Module 1 is shutting down", name, {"interrupted": True})
                raise
            except EXPECTED_FAILURES as exc:
                self._fail(number, one_line(exc), name)
            except Exception as exc:  # a bug: the loop must go on, the log keeps the traceback
                logger.exception("Stage %d failed unexpectedly for %s", number, name)
                self._fail(number, f"internal error: {type(exc).__name__}: {one_line(exc)}", name)
            seconds[number] = time.perf_counter() - began
            figures: dict[str, float | int] = {"seconds": round(seconds[number], 3)}
            if items is not None:
                figures["items"] = items(value)
            elif size is not None:
                figures["items"] = size
            stage_complete(number, done(value), name, figures)
            return value

        scraped = stage(
            1, scrape_message or f"Processing {platform} account{fresh}",
            lambda: scrape(request, layout=self.layout, settings=self.settings.scrape, providers=self.providers,
                           now=now),
            lambda r: f"Successfully processed {platform} account ({len(r.posts)} posts"
                      f"{', from cache' if r.from_cache else ''})",
            items=lambda r: len(r.posts),
        )
        retrieved = stage(
            2, "Processing and validating data",
            lambda: retrieve_reusing(self.layout, scraped, max_posts=request.max_posts),
            lambda r: f"Data validation successful ({len(r.posts)} usable posts, "
                      f"{sum(r.dropped.values())} dropped)",
            size=len(scraped.posts),
        )
        posts = retrieved.posts
        indexed = stage(
            3, f"Indexing {len(posts)} posts in vector database",
            lambda: self._index_posts(key, posts),
            lambda r: "Successfully indexed posts in vector database "
                      f"({r.embedded} embedded, {r.reused} reused{f', {r.removed} removed' if r.removed else ''})",
            items=lambda r: r.embedded,  # its time goes into embedding the new posts
        )
        embedder_name = self.settings.embedder_name
        prior, analysis = stage(
            4, "Analyzing engagement data and patterns",
            lambda: self._analyse(key, posts, indexed, now),
            lambda pa: f"Successfully analyzed engagement data (trend: {pa[1].activity.summary}"
                       f"{', fits reused: nothing new' if pa[0].fits else ''})",
            size=len(posts),
        )
        topics, plan = stage(
            5, "Generating content recommendations",
            lambda: self._generate(key, scraped, retrieved, indexed, analysis, prior, now),
            lambda tp: f"Successfully generated content recommendations ({len(tp[1].recommendations)})",
            size=len(posts),
        )
        exported = stage(
            6, "Exporting content plan and results",
            lambda: self._export(key, plan, analysis, prior, topics, embedder_name),
            lambda files: "Successfully exported content plan",
        )
        count = len(plan.recommendations)
        stage_complete(7, f"Pipeline completed - {count} recommendations generated", name,
                       {"plan": str(exported.plan_json), "seconds": round(sum(seconds.values()), 3)})
        return PipelineResult(platform, name, len(posts), count, exported.plan_json, exported.plan_sha256, seconds,
                              indexed.embed_seconds)

    def _analyse(self, key: AccountKey, posts: tuple[Post, ...], indexed: IndexedPosts,
                 now: datetime) -> tuple[PriorFits, EngagementAnalysis]:
        prior = prior_fits(self.layout, key, posts, indexed.embeddings, self.settings.embedder_name)
        return prior, analyse(posts, now, embeddings=indexed.embeddings, fits=prior.fits)

    def _generate(self, key: AccountKey, scraped: ScrapeResult, retrieved: RetrievalResult, indexed: IndexedPosts,
                  analysis: EngagementAnalysis, prior: PriorFits, now: datetime) -> tuple[TopicModel, ContentPlan]:
        posts = retrieved.posts
        topics = (prior.fits.topics if prior.fits is not None and prior.fits.topics is not None
                  else topic_model(posts, indexed.embeddings, analysis, key.username))
        plan = generate_plan(
            posts, indexed.embeddings, analysis, platform=key.platform, username=key.username, now=now,
            provider=scraped.provider, posts_dropped=sum(retrieved.dropped.values()),
            assumed_utc=retrieved.assumed_utc, count=self.settings.recommendations, embedder=self._embedder(),
            drafter=self.settings.drafter, topics=topics,
        )
        return topics, plan

    def _export(self, key: AccountKey, plan: ContentPlan, analysis: EngagementAnalysis, prior: PriorFits,
                topics: TopicModel, embedder_name: str) -> ExportedFiles:
        files = export_plan(plan, analysis, self.layout)
        if prior.fits is None:
            keep_fits(self.layout, key, AccountFits(prior.fingerprint, analysis.model, analysis.slots,
                                                    analysis.formats, topics), embedder=embedder_name)
        return files

    def _embedder(self) -> Embedder:
        return load_embedder(self.settings.embedder_name)

    @staticmethod
    def _fail(stage: int, reason: str, username: str) -> None:
        stage_failed(stage, reason, username)
        raise StageFailure(stage, reason)


def one_line(exc: BaseException) -> str:
    text = " ".join(str(exc).split()) or type(exc).__name__
    return text if len(text) <= 300 else text[:297] + "..."
