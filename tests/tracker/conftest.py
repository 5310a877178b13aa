from __future__ import annotations

import logging
from pathlib import Path

import pytest

from support.tracker import Collected


@pytest.fixture
def status_path(tmp_path: Path) -> Path:
    return tmp_path / "data" / "miner_status.json"


@pytest.fixture
def collected() -> Collected:
    return Collected()


@pytest.fixture(autouse=True)
def _tracker_warnings_reach_caplog() -> None:
    """bittensor, once imported by another test, sets every library's logger to CRITICAL: undo that
    for the tracker's logger, so tests see its warnings as a program without bittensor would."""
    logging.getLogger("content_miner.tracker").setLevel(logging.NOTSET)
