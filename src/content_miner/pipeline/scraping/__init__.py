"""Stage 1, Data Scraping: providers of raw posts, their registry, and the raw cache."""

from __future__ import annotations

from content_miner.pipeline.scraping.base import Provider, ScrapeError
from content_miner.pipeline.scraping.cache import RawCache
from content_miner.pipeline.scraping.registry import ProviderRegistry
from content_miner.pipeline.scraping.settings import ScrapeSettings
from content_miner.pipeline.scraping.stage import scrape
from content_miner.pipeline.scraping.tabular import TabularImporter, looks_like_tabular
from content_miner.pipeline.scraping.x_api import XApiProvider
from content_miner.pipeline.scraping.x_archive import XArchiveImporter, looks_like_x_archive


def default_providers() -> ProviderRegistry:
    """The built-in providers. Importers are tried in this order, so an archive saved as .json is
    still recognised by its content before the tabular importer claims the extension."""
    return (
        ProviderRegistry()
        .register(XArchiveImporter.name, XArchiveImporter, platforms=("twitter",), accepts=looks_like_x_archive)
        .register(TabularImporter.name, TabularImporter, accepts=looks_like_tabular)
        .register(XApiProvider.name, XApiProvider, platforms=("twitter",))
    )


__all__ = ["Provider", "ProviderRegistry", "RawCache", "ScrapeError", "ScrapeSettings", "default_providers", "scrape"]
