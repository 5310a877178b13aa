"""Fixtures that run the real Module 2 service as a subprocess (helpers in module2_helpers.py)."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from support.module2 import Module2


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
def service(start_service: Callable[..., Module2]) -> Module2:
    return start_service()
