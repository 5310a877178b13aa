"""Which provider serves an account: a registry, so a new platform or format is one entry.

An entry with an `accepts` test is an importer of local exports, chosen when the request names
a `source` file the test accepts (entries are tried in registration order). An entry without one
is its platform's live provider, chosen when there is no `source`.
"""

from __future__ import annotations

import stat
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from content_miner.pipeline.account import AccountRequest
from content_miner.pipeline.scraping.base import Provider, ScrapeError
from content_miner.pipeline.scraping.settings import ScrapeSettings

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


class ProviderRegistry:
    """The providers one pipeline may use, tried in the order they were added."""

    def __init__(self) -> None:
        self._entries: list[ProviderEntry] = []

    def register(self, name: str, factory: ProviderFactory, *, platforms: tuple[str, ...] | None = None,
                 accepts: SourceTest | None = None) -> ProviderRegistry:
        """Add (or replace, by name) a provider. Live providers must name their platforms."""
        if accepts is None and not platforms:
            raise ValueError(f"live provider {name!r} must name the platforms it serves")
        entry = ProviderEntry(name, factory, frozenset(platforms) if platforms else None, accepts)
        for index, existing in enumerate(self._entries):
            if existing.name == name:
                self._entries[index] = entry
                return self
        self._entries.append(entry)
        return self

    @property
    def entries(self) -> tuple[ProviderEntry, ...]:
        return tuple(self._entries)

    def provider_for(self, request: AccountRequest, settings: ScrapeSettings) -> Provider:
        """The provider for `request`; ScrapeError when none fits. A `source` must be a regular
        file (checked before anything reads it: a FIFO or /dev/zero would block or never end)."""
        if request.source is not None:
            path = regular_source(request.source)
            for entry in self._entries:
                if entry.accepts is not None and entry.serves(request.platform) and entry.accepts(path):
                    return entry.factory(settings)
            raise ScrapeError(
                f"unsupported source file {path.name!r}: expected an X archive tweets.js (.js), "
                ".jsonl, .json or .csv"
            )
        for entry in self._entries:
            if entry.accepts is None and entry.serves(request.platform):
                return entry.factory(settings)
        raise ScrapeError(f"no live provider for platform {request.platform!r}; give a source file")


def regular_source(source: str) -> Path:
    """`source` as a path, if it names a regular file (symlinks followed); ScrapeError otherwise."""
    path = Path(source)
    try:
        mode = path.stat().st_mode
    except FileNotFoundError:
        raise ScrapeError(f"source file not found: {path}") from None
    except OSError as exc:
        raise ScrapeError(f"cannot read source file {path}: {exc.strerror or exc}") from None
    if not stat.S_ISREG(mode):
        raise ScrapeError(f"source is not a regular file: {path}")
    return path
