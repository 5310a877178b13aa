"""The shared shape of the offline importers: read the request's `source` file, parse its posts."""

from __future__ import annotations

from abc import abstractmethod
from datetime import datetime
from pathlib import Path

from content_miner.common.account import AccountKey
from content_miner.pipeline.account import AccountRequest
from content_miner.pipeline.models import RawPost, ScrapeResult
from content_miner.pipeline.scraping.base import Provider, ScrapeError
from content_miner.pipeline.scraping.post_format import account_key
from content_miner.pipeline.scraping.settings import ScrapeSettings
from content_miner.pipeline.scraping.source_text import read_source_text


class FileImporter(Provider):
    label = "file"  # named in the error when no source file is given

    def __init__(self, settings: ScrapeSettings | None = None) -> None:
        del settings  # nothing to configure: an importer only reads the given file

    def fetch(self, request: AccountRequest, *, now: datetime) -> ScrapeResult:
        if request.source is None:
            raise ScrapeError(f"the {self.label} importer needs a source file")
        path = Path(request.source)
        return ScrapeResult(
            platform=request.platform,
            username=request.username,
            posts=tuple(self.parse(read_source_text(path), path, account_key(request.platform, request.username))),
            provider=self.name,
            fetched_at=now,
        )

    @abstractmethod
    def parse(self, text: str, path: Path, account: AccountKey | None = None) -> list[RawPost]:
        """The posts in the file's decoded text; ScrapeError with a one-line reason. `account` (whose
        export it is) tells the account's own threads from replies to others."""
