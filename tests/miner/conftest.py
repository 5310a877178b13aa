"""Fixtures for the miner's tests: a real miner process per test module, its clean-up, the fake X API."""

from __future__ import annotations

import os
import sys

os.environ.setdefault("READ_ONLY", "1")  # bittensor, imported by the tests, must not create ~/.bittensor
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "content_pipeline"))  # x_api_server.py

from miner_harness import MinerRun  # noqa: E402
from x_api_server import x_api  # noqa: E402,F401  (the FakeXApi fixture)


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
