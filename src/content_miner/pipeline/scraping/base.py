"""The provider interface of Stage 1 (Data Scraping) and its error."""

from __future__ import annotations

from abc import ABC, abstractmethod
from datetime import datetime

from content_miner.pipeline.account import AccountRequest
from content_miner.pipeline.models import ScrapeResult


class ScrapeError(Exception):
    """Stage 1 could not produce posts; str() is the one-line reason for the operator."""

    def __init__(self, reason: str) -> None:
        # Reasons may quote parser messages or file names: keep them on one line.
        super().__init__(" ".join(str(reason).split()))


class Provider(ABC):
    """Fetches the raw posts of one account, from a live service or a local export."""

    name: str  # recorded in ScrapeResult.provider, e.g. "x-archive"

    @abstractmethod
    def fetch(self, request: AccountRequest, *, now: datetime) -> ScrapeResult:
        """All posts the provider can give for `request`; ScrapeError when it cannot.

        `now` (UTC) is recorded as the result's `fetched_at`.
        """
