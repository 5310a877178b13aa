"""Waiting for a condition with a deadline: the one polling helper of the test suite."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import TypeVar

T = TypeVar("T")


def wait_for(condition: Callable[[], T], *, timeout: float = 30.0, what: str = "condition",
             interval: float = 0.05, ignore: tuple[type[BaseException], ...] = ()) -> T:
    """Call `condition` every `interval` seconds until it returns something truthy, and return that.

    Exceptions listed in `ignore` count as "not yet" (a server still starting); fails with `what`
    (and the last ignored error) after `timeout` seconds.
    """
    deadline = time.monotonic() + timeout
    last_error: BaseException | None = None
    while True:
        try:
            result = condition()
            if result:
                return result
        except ignore as err:
            last_error = err
        if time.monotonic() > deadline:
            detail = f" (last error: {last_error!r})" if last_error is not None else ""
            raise AssertionError(f"timed out after {timeout}s waiting for {what}{detail}")
        time.sleep(interval)
