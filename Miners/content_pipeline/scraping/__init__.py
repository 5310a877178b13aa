"""Stage 1, Data Scraping: providers of raw posts, their registry, and the raw cache."""

from __future__ import annotations

from content_pipeline.scraping.base import Provider, ScrapeError
from content_pipeline.scraping.cache import RawCache
from content_pipeline.scraping.registry import provider_for, register_provider
from content_pipeline.scraping.settings import ScrapeSettings
from content_pipeline.scraping.stage import scrape
from content_pipeline.scraping.tabular import TabularImporter, looks_like_tabular
from content_pipeline.scraping.x_api import XApiProvider
from content_pipeline.scraping.x_archive import XArchiveImporter, looks_like_x_archive

# Built-in providers. Importers are tried in this order, so an archive saved as .json is still
# recognised by its content before the tabular importer claims the extension.
register_provider(
    XArchiveImporter.name, XArchiveImporter, platforms=("twitter",), accepts=looks_like_x_archive
)
register_provider(TabularImporter.name, TabularImporter, accepts=looks_like_tabular)
register_provider(XApiProvider.name, XApiProvider, platforms=("twitter",))

__all__ = [
    "Provider",
    "RawCache",
    "ScrapeError",
    "ScrapeSettings",
    "provider_for",
    "register_provider",
    "scrape",
]
