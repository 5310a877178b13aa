"""Module 2 for its tests: in this process through the ASGI app (`service`), or as the real
subprocess (`start_service`) where the behaviour is about the process: signals, start-up, HTTP."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from support.module2 import InProcessModule2, Module2


@pytest.fixture
def data_dir(tmp_path: Path) -> Path:
    path = tmp_path / "data"
    path.mkdir()
    return path


@pytest.fixture
def start_service(data_dir: Path, tmp_path: Path) -> Iterator[Callable[..., Module2]]:
    """Start the real service (each call a new process on a new port); all are stopped afterwards."""
    started: list[Module2] = []

    def start(*extra: str) -> Module2:
        service = Module2(data_dir, tmp_path / "module2.log", tmp_path / "home")
        started.append(service)
        return service.start(*extra)

    yield start
    for service in started:
        service.kill()


@pytest.fixture
def start_in_process(data_dir: Path, tmp_path: Path,
                     monkeypatch: pytest.MonkeyPatch) -> Iterator[Callable[[], InProcessModule2]]:
    """Start the service in this process (each call a new one on the same data directory). Its stage
    calls go to the process-wide tracker: pointed at this data directory for the test only."""
    monkeypatch.setenv("MINER_STATUS_FILE", str(data_dir / "miner_status.json"))
    monkeypatch.setenv("MINER_SOURCE", "module2")
    started: list[InProcessModule2] = []

    def start() -> InProcessModule2:
        service = InProcessModule2(data_dir, tmp_path / "module2.log")
        started.append(service)
        return service.start()

    yield start
    for service in started:
        service.stop()


@pytest.fixture
def service(start_in_process: Callable[[], InProcessModule2]) -> InProcessModule2:
    return start_in_process()
