"""Fixtures shared by every test directory; helpers live in `support/` (importable as `support`)."""

from __future__ import annotations

import os
import sys
from collections.abc import Iterator

import pytest

sys.dont_write_bytecode = True  # the tests write no __pycache__ into the source tree either
# Nor do the helper processes tests start (console scripts, `python -m`): a package's own
# `__init__` is compiled before its first line can say otherwise, and a concurrent test that checks
# the tree after a miner run (which drops this variable, to prove the miner needs none) would see it.
os.environ["PYTHONDONTWRITEBYTECODE"] = "1"
os.environ.setdefault("READ_ONLY", "1")  # bittensor, imported by some tests, must not create ~/.bittensor

from support.x_api import FakeXApi, serve_x_api  # noqa: E402  (after READ_ONLY)


@pytest.fixture
def x_api() -> Iterator[FakeXApi]:
    """A fake X API v2 on 127.0.0.1 for the length of one test."""
    with serve_x_api() as api:
        yield api


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    """The files tests saved for people to look at (`record_property("artifact", path)`), e.g. the
    dashboard's screenshots; from xdist's workers too (the property travels with the report)."""
    paths = [value for report in terminalreporter.stats.get("passed", []) + terminalreporter.stats.get("failed", [])
             for name, value in getattr(report, "user_properties", []) if name == "artifact"]
    if paths:
        terminalreporter.section("artifacts")
        for path in dict.fromkeys(paths):
            terminalreporter.write_line(str(path))
