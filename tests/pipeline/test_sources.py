"""An account's `source` must be a regular file: anything else is refused before a byte is read."""

from __future__ import annotations

import os
import threading
from datetime import datetime, timezone
from pathlib import Path

import pytest

from content_miner.common.layout import DataLayout
from content_miner.pipeline.account import parse_account
from content_miner.pipeline.scraping import ScrapeError, ScrapeSettings, default_providers, scrape

NOW = datetime(2025, 6, 1, tzinfo=timezone.utc)


def scrape_within(source: str, tmp_path: Path, seconds: float = 20.0) -> BaseException | None:
    """Scrape `source` in a thread; the error it raised, or a failure if it did not return in time
    (reading /dev/zero or a FIFO never ends)."""
    outcome: list[BaseException | None] = []

    def run() -> None:
        try:
            scrape(parse_account({"platform": "twitter", "username": "someone", "source": source}),
                   layout=DataLayout(tmp_path / "data"), settings=ScrapeSettings(), providers=default_providers(),
                   now=NOW)
            outcome.append(None)
        except BaseException as exc:  # noqa: BLE001  (handed to the test)
            outcome.append(exc)

    worker = threading.Thread(target=run, daemon=True)
    worker.start()
    worker.join(seconds)
    assert outcome, f"scraping {source} did not return within {seconds:g} s"
    return outcome[0]


@pytest.mark.parametrize("kind", ["dev_zero", "fifo", "directory"])
def test_a_source_that_is_not_a_regular_file_is_refused_before_any_read(tmp_path: Path, kind: str) -> None:
    if kind == "dev_zero":
        source = "/dev/zero"
    elif kind == "fifo":
        source = str(tmp_path / "tweets.js")
        os.mkfifo(source)
    else:
        source = str(tmp_path / "folder.jsonl")
        os.mkdir(source)
    error = scrape_within(source, tmp_path)
    assert isinstance(error, ScrapeError) and str(error) == f"source is not a regular file: {source}"
    assert not (tmp_path / "data" / "raw_cache").exists()
