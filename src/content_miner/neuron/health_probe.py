"""A module's `GET /health`, asked in a thread of its own so the supervisor never waits on it.

A frozen Module 2 still has its socket accepted by the kernel and then never answers: a probe in
the supervisor's own loop would hold up every other check (and the shutdown) for the whole
timeout. Plain `http.client` on loopback: no proxy settings apply, no TLS context is built.
"""

from __future__ import annotations

import http.client
import threading
from collections.abc import Callable
from dataclasses import dataclass
from urllib.parse import urlsplit


@dataclass(frozen=True)
class HealthAnswer:
    pid: int | None  # the run that was asked: an answer about an earlier run is ignored
    ok: bool


class HealthProbe:
    """One request at a time: `start` it, then `collect` the answer on a later check."""

    def __init__(self, url: str | Callable[[], str | None], timeout_s: float) -> None:
        self.url = url if callable(url) else (lambda: url)
        self.timeout_s = timeout_s
        self._thread: threading.Thread | None = None
        self._answer: HealthAnswer | None = None

    @property
    def in_flight(self) -> bool:
        return self._thread is not None

    def start(self, pid: int | None) -> None:
        if self._thread is not None:
            return
        self._answer = None
        # A daemon thread: one still waiting when the miner exits must not hold the exit up.
        self._thread = threading.Thread(target=self._ask, args=(pid,), name="health-probe", daemon=True)
        self._thread.start()

    def collect(self) -> HealthAnswer | None:
        """The answer once the request is over (then the probe is free again); None until then."""
        thread = self._thread
        if thread is None or thread.is_alive():
            return None
        self._thread = None
        return self._answer

    def _ask(self, pid: int | None) -> None:
        url = self.url()
        if url is None:  # the module has not said where it listens yet
            self._answer = HealthAnswer(pid, False)
            return
        parts = urlsplit(url)
        connection = http.client.HTTPConnection(parts.hostname or "127.0.0.1", parts.port or 80, timeout=self.timeout_s)
        try:
            connection.request("GET", parts.path or "/")
            response = connection.getresponse()
            response.read()
            ok = response.status == 200
        except (OSError, http.client.HTTPException):
            ok = False
        finally:
            connection.close()
        self._answer = HealthAnswer(pid, ok)
