"""Fixtures for the dashboard's tests: a stage log of many accounts, and a dashboard serving it."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from content_miner.common.layout import DataLayout
from content_miner.dashboard import DashboardServer, DashboardSources, read_only_log, start_dashboard
from content_miner.tracker import MinerStageTracker
from support.stage_history import build_history


class Miner:
    """A data directory with a stage log, and the tracker a miner would have on it."""

    def __init__(self, data: Path) -> None:
        self.layout = DataLayout(data)
        self.tracker = MinerStageTracker(self.layout.status_file, source="module1")

    def sources(self, **extra: object) -> DashboardSources:
        tracker = self.tracker
        return DashboardSources(read_log=read_only_log(self.layout.stage_log),
                                live=lambda status: tracker.live(status=status), layout=self.layout,
                                **extra)  # type: ignore[arg-type]


@pytest.fixture
def history(tmp_path: Path) -> Iterator[Miner]:
    """50 accounts, about 2,000 events over the last day."""
    data = tmp_path / "data"
    build_history(data / "miner_status.json", accounts=50, events=2_000, now=time.time(), span_s=86400)
    miner = Miner(data)
    yield miner
    miner.tracker.close()


@pytest.fixture
def empty(tmp_path: Path) -> Iterator[Miner]:
    miner = Miner(tmp_path / "data")
    miner.tracker.stage_start(0, "Starting watchdog mode", source="module1")
    assert miner.tracker.flush(5.0)
    yield miner
    miner.tracker.close()


@pytest.fixture
def serve() -> Iterator[Callable[..., DashboardServer]]:
    started: list[DashboardServer] = []

    def start(sources: DashboardSources, token: str | None = None) -> DashboardServer:
        server = start_dashboard(sources, "127.0.0.1", 0, token)
        started.append(server)
        return server

    yield start
    for server in started:
        server.stop()
