from __future__ import annotations

from pathlib import Path

import pytest

from support.tracker import Collected


@pytest.fixture
def status_path(tmp_path: Path) -> Path:
    return tmp_path / "data" / "miner_status.json"


@pytest.fixture
def collected() -> Collected:
    return Collected()
