"""Stage 1, Data Scraping: the account's raw posts, from the raw cache or from a provider."""

from __future__ import annotations

import dataclasses
import logging
from datetime import datetime

from content_miner.common.layout import DataLayout
from content_miner.pipeline.account import AccountRequest
from content_miner.pipeline.models import ScrapeResult
from content_miner.pipeline.scraping.base import ScrapeError
from content_miner.pipeline.scraping.cache import RawCache, source_stamp
from content_miner.pipeline.scraping.registry import ProviderRegistry, regular_source
from content_miner.pipeline.scraping.settings import ScrapeSettings

logger = logging.getLogger(__name__)


def scrape(
    request: AccountRequest, *, layout: DataLayout, settings: ScrapeSettings, providers: ProviderRegistry,
    now: datetime,
) -> ScrapeResult:
    """The raw posts of `request`'s account; ScrapeError with a one-line reason on failure.

    The cached result is reused unless `force_fresh` is set or it is older than
    `settings.cache_max_age` (see `cache.py` for the other conditions); a fresh result replaces
    it. `now` must be timezone-aware. Only the raw cache is written; a `source` file is only read,
    and only once it is known to be a regular file.
    """
    if now.tzinfo is None or now.utcoffset() is None:
        raise ValueError("now must be timezone-aware")
    stamp = None
    if request.source is not None:
        path = regular_source(request.source)
        try:
            stamp = source_stamp(path)
        except OSError as exc:
            raise ScrapeError(f"cannot read source file {path}: {exc.strerror or exc}") from None
    cache = RawCache(layout)
    if request.force_fresh:
        logger.debug("Fresh scrape forced for %s", request.username)
    else:
        cached = cache.load(
            request.key,
            now=now,
            max_age=settings.cache_max_age,
            max_posts=request.max_posts,
            source_stamp=stamp,
        )
        if cached is not None:
            logger.debug("Reusing %d cached posts for %s", len(cached.posts), request.username)
            return cached
    result = providers.provider_for(request, settings).fetch(request, now=now)
    try:
        digest = cache.store(result, max_posts=request.max_posts, source_stamp=stamp)
    except OSError as exc:
        # The posts are in hand; a cache that cannot be written costs a re-scrape next time only.
        logger.warning("Could not write the raw cache for %s: %s", request.username, exc)
        return result
    return dataclasses.replace(result, digest=digest)
