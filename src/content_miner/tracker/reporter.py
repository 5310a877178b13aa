"""Turning stage events into the operator's log lines, each exactly once and in order.

The reporter keeps a cursor (log id, last seq logged) and on every poll logs the events after it,
however many happened since the last poll, reading the stage log by seq. It starts at the current end
of the log, so old events are not replayed when the miner starts. Its thread restarts itself if it
dies, and retention in this process never removes an event the reporter has not logged.
"""

from __future__ import annotations

import logging
import threading
from dataclasses import replace
from typing import TYPE_CHECKING, Any, Protocol

from .background import SelfRestartingThread
from .definitions import DEFAULTS, StageDefinitions
from .log_lines import ERROR, WARNING, event_line, missed_line, restarted_line

if TYPE_CHECKING:
    from content_miner.tracker import MinerStageTracker

log = logging.getLogger("content_miner.tracker")
PAGE = 1000  # events per read


class OperatorLogger(Protocol):
    def info(self, msg: str, *args: Any, **kwargs: Any) -> Any: ...
    def warning(self, msg: str, *args: Any, **kwargs: Any) -> Any: ...
    def error(self, msg: str, *args: Any, **kwargs: Any) -> Any: ...


class MinerStageReporter:
    def __init__(self, tracker: MinerStageTracker, logger: OperatorLogger,
                 definitions: StageDefinitions = DEFAULTS) -> None:
        self.tracker = tracker
        self.logger = logger
        self.definitions = definitions
        self.logged = 0  # transitions logged
        self.missed = 0  # transitions the log no longer had when the reporter got to them
        self.poll_errors = 0
        self.polls = 0
        self._cursor = tracker.end_cursor()
        self._thread: SelfRestartingThread | None = None
        self._poll_guard = threading.Lock()  # the thread's poll and stop_monitoring's last one
        tracker._writer.readers.add(self)

    @property
    def unread_after(self) -> int:
        """The last seq logged: retention keeps every event after it."""
        return self._cursor.seq

    def start_monitoring(self, check_interval: float = 1.0) -> None:
        if self._thread is None:
            self._thread = SelfRestartingThread("stage-reporter", self._tick, max(0.01, float(check_interval)))
        self._thread.poke()

    def stop_monitoring(self, timeout: float = 5.0) -> None:
        """Stop the thread, then log whatever arrived since its last poll."""
        if self._thread is not None:
            self._thread.stop(timeout)
            self._thread = None
        self.poll_once()

    @property
    def running(self) -> bool:
        return self._thread is not None and self._thread.alive

    def _tick(self) -> bool:
        self.poll_once()
        return True

    def poll_once(self) -> int:
        """Log every event after the cursor; returns how many transitions were logged."""
        with self._poll_guard:
            self.polls += 1
            return self._poll()

    def _poll(self) -> int:
        logged = 0
        while True:
            try:
                batch = self.tracker.read_new(self._cursor, PAGE)
            except Exception as exc:  # the thread must outlive any surprise
                self.poll_errors += 1
                log.debug("stage reporter: poll failed: %r", exc)
                return logged
            if batch.log_changed:
                self._emit(*restarted_line())
            if batch.missed:
                self.missed += batch.missed
                self._emit(*missed_line(batch.missed))
            for event in batch.events:
                self._emit(*event_line(event, self.definitions))
                self._cursor = replace(batch.cursor, seq=event["seq"])  # one by one: a thread that dies
                logged += 1  # mid-batch is replaced by one that goes on after the last line logged
                self.logged += 1
            self._cursor = batch.cursor
            if len(batch.events) < PAGE:
                return logged

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
