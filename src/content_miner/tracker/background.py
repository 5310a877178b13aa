"""A background thread that restarts itself if it dies.

The tracker's housekeeping and the reporter each run in one. An exception escaping a tick (a bug,
an unexpected error from a logger) would otherwise end the thread for good, and with it the retries
of queued events or the operator's stage lines, silently. Here the thread says so in one warning
line and a new one takes over, after a short pause that grows if it keeps dying.
"""

from __future__ import annotations

import logging
import sys
import threading
from collections.abc import Callable

log = logging.getLogger("content_miner.tracker")


class SelfRestartingThread:
    def __init__(self, name: str, tick: Callable[[], bool], interval: float) -> None:
        """`tick` runs every `interval` seconds; when it returns False (nothing left to do) and nobody
        called `poke` meanwhile, the thread ends until the next `poke`."""
        self.name = name
        self.tick = tick
        self.interval = interval
        self.restarts = 0
        self._lock = threading.Lock()
        self._thread: threading.Thread | None = None
        self._poked = False
        self._stop = threading.Event()

    @property
    def alive(self) -> bool:
        thread = self._thread
        return thread is not None and thread.is_alive()

    def poke(self) -> None:
        """Make sure the thread runs (again, if it ended)."""
        with self._lock:
            self._poked = True
            if self._thread is None and not self._stop.is_set():
                self._spawn(0.0)

    def stop(self, timeout: float) -> None:
        """Stop the thread (waiting `timeout` at most); a later `poke` starts it again."""
        self._stop.set()
        with self._lock:
            thread = self._thread
        if thread is not None and thread is not threading.current_thread():
            thread.join(timeout)
        self._stop.clear()

    def _spawn(self, delay: float) -> None:
        self._thread = threading.Thread(target=self._run, args=(delay,), name=self.name, daemon=True)
        self._thread.start()

    def _run(self, delay: float) -> None:
        me = threading.current_thread()
        try:
            if delay:
                self._stop.wait(delay)
            while not self._stop.is_set():
                with self._lock:
                    self._poked = False
                if not self.tick():
                    with self._lock:
                        if not self._poked:
                            self._thread = None
                            return
                self._stop.wait(self.interval)
        except BaseException as exc:
            if sys.is_finalizing():
                return
            self.restarts += 1
            log.warning("⚠️  Stage tracking: the %s thread died (%r); started a new one", self.name, exc)
            with self._lock:
                if self._thread is me:
                    self._thread = None
                    if not self._stop.is_set():
                        self._spawn(min(5.0, 0.05 * 2 ** min(self.restarts, 7)))
            return
        with self._lock:
            if self._thread is me:
                self._thread = None
