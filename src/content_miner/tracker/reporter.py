"""Turning stage events into the operator's log lines, each exactly once and in order.

The reporter keeps a cursor (log id, last sequence number logged) and on every poll logs the events
after it, however many happened since the last poll. It starts at the current end of the file, so
old history is not replayed when the miner starts.
"""

from __future__ import annotations

import logging
import threading
from typing import TYPE_CHECKING, Any, Protocol

from .log_lines import ERROR, WARNING, event_line, missed_line, restarted_line

if TYPE_CHECKING:
    from content_miner.tracker import MinerStageTracker

log = logging.getLogger("miner_stage_tracker")


class OperatorLogger(Protocol):
    def info(self, msg: str, *args: Any, **kwargs: Any) -> Any: ...
    def warning(self, msg: str, *args: Any, **kwargs: Any) -> Any: ...
    def error(self, msg: str, *args: Any, **kwargs: Any) -> Any: ...


class MinerStageReporter:
    def __init__(self, tracker: MinerStageTracker, logger: OperatorLogger) -> None:
        self.tracker = tracker
        self.logger = logger
        self.logged = 0  # transitions logged
        self.missed = 0  # transitions that left the ring unlogged
        self.poll_errors = 0
        self._cursor = tracker.end_cursor()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._poll_guard = threading.Lock()

    def start_monitoring(self, check_interval: float = 1.0) -> None:
        if self._thread is not None and self._thread.is_alive():
            return
        self._stop.clear()
        self._thread = threading.Thread(
            target=self._run, args=(max(0.01, float(check_interval)),), name="stage-reporter", daemon=True
        )
        self._thread.start()

    def stop_monitoring(self, timeout: float = 5.0) -> None:
        """Stop the thread, then log whatever arrived since its last poll."""
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout)
            self._thread = None
        self.poll_once()

    @property
    def running(self) -> bool:
        return self._thread is not None and self._thread.is_alive()

    def poll_once(self) -> int:
        """Log every event after the cursor; returns how many transitions were logged."""
        with self._poll_guard:
            try:
                batch = self.tracker.read_new(self._cursor)
            except Exception as exc:  # the thread must outlive any surprise
                self.poll_errors += 1
                log.debug("stage reporter: poll failed: %r", exc)
                return 0
            if batch.log_changed:
                self._emit(*restarted_line())
            if batch.missed:
                self.missed += batch.missed
                self._emit(*missed_line(batch.missed))
            for event in batch.events:
                self._emit(*event_line(event))
            self.logged += len(batch.events)
            self._cursor = batch.cursor
            return len(batch.events)

    def _emit(self, level: str, text: str) -> None:
        try:
            if level == ERROR:
                self.logger.error(text)
            elif level == WARNING:
                self.logger.warning(text)
            else:
                self.logger.info(text)
        except Exception as exc:
            log.debug("stage reporter: logger raised %r", exc)

    def _run(self, interval: float) -> None:
        while not self._stop.is_set():
            self.poll_once()
            try:
                self.tracker.sync_history()
            except Exception as exc:
                log.debug("stage reporter: history sync failed: %r", exc)
            self._stop.wait(interval)
