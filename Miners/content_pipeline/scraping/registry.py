"""Which provider serves an account: a registry, so a new platform or format is one entry.

An entry with an `accepts` test is an importer of local exports, chosen when the request names
a `source` file the test accepts (entries are tried in registration order). An entry without one
is its platform's live provider, chosen when there is no `source`.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from content_pipeline.account import AccountRequest
from content_pipeline.scraping.base import Provider, ScrapeError
from content_pipeline.scraping.settings import ScrapeSettings

ProviderFactory = Callable[[ScrapeSettings], Provider]
SourceTest = Callable[[Path], bool]


@dataclass(frozen=True)
class ProviderEntry:
    name: str
    factory: ProviderFactory
    platforms: frozenset[str] | None  # None: serves every platform
    accepts: SourceTest | None  # None: a live provider

    def serves(self, platform: str) -> bool:
        return self.platforms is None or platform in self.platforms


_ENTRIES: list[ProviderEntry] = []


def register_provider(
    name: str,
    factory: ProviderFactory,
    *,
    platforms: tuple[str, ...] | None = None,
    accepts: SourceTest | None = None,
) -> None:
    """Add (or replace, by name) a provider. Live providers must name their platforms."""
    if accepts is None and not platforms:
        raise ValueError(f"live provider {name!r} must name the platforms it serves")
    entry = ProviderEntry(name, factory, frozenset(platforms) if platforms else None, accepts)
    for index, existing in enumerate(_ENTRIES):
        if existing.name == name:
            _ENTRIES[index] = entry
            return
    _ENTRIES.append(entry)


def registered_providers() -> tuple[ProviderEntry, ...]:
    return tuple(_ENTRIES)


def provider_for(request: AccountRequest, settings: ScrapeSettings) -> Provider:
    """The provider for `request`; ScrapeError when none fits."""
    if request.source is not None:
        path = Path(request.source)
        if not path.exists():
            raise ScrapeError(f"source file not found: {path}")
        if not path.is_file():
            raise ScrapeError(f"source is not a regular file: {path}")
        for entry in _ENTRIES:
            if entry.accepts is not None and entry.serves(request.platform) and entry.accepts(path):
                return entry.factory(settings)
        raise ScrapeError(
            f"unsupported source file {path.name!r}: expected an X archive tweets.js (.js), "
            ".jsonl, .json or .csv"
        )
    for entry in _ENTRIES:
        if entry.accepts is None and entry.serves(request.platform):
            return entry.factory(settings)
    raise ScrapeError(f"no live provider for platform {request.platform!r}; give a source file")
