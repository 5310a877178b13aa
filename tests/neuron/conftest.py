"""Fixtures for the miner's tests: real miner processes and their clean-up."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from support.miner import MinerRun


@pytest.fixture
def start_miner(tmp_path: Path) -> Iterator[Callable[..., MinerRun]]:
    started: list[MinerRun] = []

    def start(*extra: str, env: dict[str, str] | None = None, data_dir: Path | None = None) -> MinerRun:
        """A new miner; on `data_dir` (an earlier miner's, to restart it) or a new one."""
        if data_dir is None:
            data_dir = tmp_path / f"data{len(started)}"
            data_dir.mkdir()
        miner = MinerRun(data_dir, tmp_path / f"miner{len(started)}.log", *extra, env=env)
        started.append(miner)
        return miner.start()

    yield start
    for miner in started:
        miner.kill_all()
