"""Fixtures shared by every test directory; helpers live in `support/` (importable as `support`)."""

from __future__ import annotations

import os
import sys
from collections.abc import Iterator

import pytest

sys.dont_write_bytecode = True  # the tests write no __pycache__ into the source tree either
os.environ.setdefault("READ_ONLY", "1")  # bittensor, imported by some tests, must not create ~/.bittensor

from support.x_api import FakeXApi, serve_x_api  # noqa: E402  (after READ_ONLY)


@pytest.fixture
def x_api() -> Iterator[FakeXApi]:
    """A fake X API v2 on 127.0.0.1 for the length of one test."""
    with serve_x_api() as api:
        yield api
