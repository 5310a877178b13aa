"""Stage tracking for the content-recommendation miner.

The pipeline reports transitions with three calls that never raise and never block for more than
about 100 ms::

    stage_start(3, "Indexing 50 posts in vector database", username="elonmusk")
    stage_complete(3, "Successfully indexed posts in vector database", username="elonmusk")
    stage_failed(1, "Failed to scrape profile", username="badusername")

Every process writes into one SQLite stage log beside the status file (`MINER_STATUS_FILE`, else
`miner_status.json` in the data directory); the miner's `MinerStageReporter` turns the events into
one log line each. The internals live in the other modules of `content_miner.tracker`; this module
is the public face.
"""

from __future__ import annotations

import atexit
import dataclasses
import json
import logging
import os
import sqlite3
import sys
import threading
import time
import weakref
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

from content_miner.common import layout
from content_miner.tracker.definitions import DEFAULTS, StageDefinitions, as_document
from content_miner.tracker.events import Clock, new_event
from content_miner.tracker.history import StageHistory
from content_miner.tracker.live import PUBLISHED_KEY, LiveStage, StallRules, live_stage
from content_miner.tracker.log_lines import event_line, status_line
from content_miner.tracker.reporter import MinerStageReporter
from content_miner.tracker.stage_log import current, events_after, last_seq, meta, set_meta, set_progress
from content_miner.tracker.stages import COMPLETED, FAILED, RUNNING, STAGE_NAMES, stage_name
from content_miner.tracker.writer import LogWriter, Retention

log = logging.getLogger("content_miner.tracker")
T = TypeVar("T")

SOURCE_ENV = "MINER_SOURCE"
EXIT_TIMEOUT_S = 0.5  # what every tracker of a process gets, together, to write its queue at exit

__all__ = [
    "COMPLETED", "FAILED", "RUNNING", "STAGE_NAMES", "Clock", "Cursor", "MinerStageReporter",
    "MinerStageTracker", "ReadBatch", "Retention", "configure", "event_line", "get_current_stage", "get_tracker",
    "reset_stages", "set_source", "stage_complete", "stage_failed", "stage_name", "stage_progress", "stage_start",
    "status_line",
]


@dataclass(frozen=True)
class Cursor:
    """Where a reader is: the log's id and the last sequence number it has seen."""

    log_id: str | None
    seq: int


@dataclass(frozen=True)
class ReadBatch:
    events: list[dict[str, Any]]
    cursor: Cursor
    missed: int  # events after the old cursor that the log no longer has
    log_changed: bool  # the log was recreated since the old cursor


class MinerStageTracker:
    """The stage log beside `status_file`, written by this process as `source` and read by anyone.

    `retention`: this process owns the log (the miner) and prunes it; `clock`: for tests."""

    def __init__(self, status_file: str | os.PathLike[str] | None = None, *, source: str | None = None,
                 retention: Retention | None = None, clock: Clock | None = None,
                 definitions: StageDefinitions | None = None) -> None:
        path = Path(status_file) if status_file else layout.status_file()
        self.status_file = path.expanduser().absolute()
        self.log_path = layout.stage_log_beside(self.status_file)
        self._source = source
        self._clock = clock or Clock()
        self.definitions = definitions or _definitions
        self._writer = LogWriter(self.status_file, self.log_path, self._clock, retention)
        self._stats = self._writer.stats
        self.history = StageHistory(self._writer)
        _live.add(self._writer)

    # -- writing ----------------------------------------------------------------------------------

    @property
    def source(self) -> str:
        return self._source or _process_source()

    def stage_start(self, stage_number: int, message: str, username: str = "", details: Any = None, *,
                    source: str | None = None) -> None:
        self.record(RUNNING, stage_number, message, username, details, source=source)

    def stage_complete(self, stage_number: int, message: str, username: str = "", details: Any = None, *,
                       source: str | None = None) -> None:
        self.record(COMPLETED, stage_number, message, username, details, source=source)

    def stage_failed(self, stage_number: int, message: str, username: str = "", details: Any = None, *,
                     source: str | None = None) -> None:
        self.record(FAILED, stage_number, message, username, details, source=source)

    def record(self, status: str, stage_number: int, message: str, username: str = "", details: Any = None,
               *, source: str | None = None, pid: int | None = None) -> None:
        """Write one transition. `source`/`pid` let a supervisor write on behalf of a dead module."""
        try:
            self._writer.submit(new_event(status, stage_number, message, username, details,
                                          source=source or self.source, pid=os.getpid() if pid is None else pid,
                                          clock=self._clock, names=self.definitions))
        except Exception as exc:  # never into the pipeline
            log.debug("stage tracker: could not record an event: %r", exc)

    def stage_progress(self, stage_number: int, done: int, total: int, username: str = "", *,
                       source: str | None = None) -> None:
        """How far the running stage is (`done` of `total` items). Throttled: at most one write a
        second per source and account, plus the last one (`done == total`); an update that came too
        soon is written by the background thread once the second has passed, so the latest progress
        shows within about a second. No event, no log line. Never raises, and waits for the log about
        50 ms at most (a busy log skips the update)."""
        try:
            if isinstance(done, bool) or not isinstance(done, int) or not isinstance(total, int) or total < 0 \
                    or done < 0 or not isinstance(stage_number, int):
                return
            who = (source or self.source, str(username))
            wall = round(self._clock.wall(), 6)
            self._writer.progress(
                who, lambda db: set_progress(db, who[0], who[1], stage_number, min(done, total), total, wall),
                final=done >= total)
        except Exception as exc:  # never into the pipeline
            log.debug("stage tracker: could not record progress: %r", exc)

    def publish(self, rules: StallRules) -> bool:
        """Record in the stage log the stage definitions and stall rules this tracker judges stages
        by, so that readers in other processes (the status command, a dashboard) judge the same way.
        The miner does it at start; a log repaired later reads with the defaults until it does again."""
        document = json.dumps({"definitions": as_document(self.definitions), "stall": dataclasses.asdict(rules)})
        try:
            return self._writer.transaction(lambda db: set_meta(db, PUBLISHED_KEY, document), 1.0)
        except Exception as exc:  # never into the caller
            log.debug("stage tracker: could not publish the definitions: %r", exc)
            return False

    def flush(self, timeout: float = 1.0) -> bool:
        """Write anything still queued (log busy, disk trouble). True when nothing is left."""
        return self._writer.drain(timeout)

    def reset(self) -> None:
        """Start fresh: no live state, no events for `read_events`. The log keeps everything."""
        self.flush(0.5)

        def clear(db: sqlite3.Connection) -> int:
            db.execute("DELETE FROM current")
            db.execute("UPDATE meta SET value = ? WHERE key = 'reset_seq'", (last_seq(db),))
            return 0

        if self._writer.transaction(clear, 0.5):
            self._writer.write_snapshot()

    def stats(self) -> dict[str, int]:
        return {**self._writer.counts, "pending": self._writer.pending(), "repairs": self._writer.log.repairs,
                "thread_restarts": self._writer.thread.restarts}

    def close(self, timeout: float = 0.5) -> None:
        """Write what is queued within `timeout` and keep the rest in a spill file for the next
        writer or reader; bring the status file up to date. The tracker stays usable."""
        try:
            self._writer.close(timeout)
        except Exception as exc:
            log.debug("stage tracker: close: %r", exc)

    # -- reading ----------------------------------------------------------------------------------

    def read_status(self) -> dict[str, Any]:
        """The live state: `current[source][username]`, `last_seq`, `log_id`, times."""

        def query(db: sqlite3.Connection) -> dict[str, Any]:
            info = meta(db)
            row = db.execute("SELECT ts FROM events ORDER BY seq DESC LIMIT 1").fetchone()
            return {"log_id": info.get("log_id"), "last_seq": last_seq(db), "created_at": info.get("created_at"),
                    "updated_at": row[0] if row else info.get("created_at"), "current": current(db)}

        empty: dict[str, Any] = {"log_id": None, "last_seq": 0, "updated_at": None, "created_at": None, "current": {}}
        return self._writer.read(query, empty)

    def get_current_stage(self, source: str | None = None, username: str | None = None) -> dict[str, Any]:
        """The latest transition (of one source/account if given); status `idle` when there is none."""
        nothing: dict[str, dict[str, dict[str, Any]]] = {}
        found = self._writer.read(lambda db: current(db, source, username, latest_only=True), nothing)
        for entry_source, accounts in found.items():
            for entry_user, entry in accounts.items():
                return {**entry, "source": entry_source, "username": entry_user}
        return {"stage_number": None, "stage_name": "", "status": "idle", "username": username or "",
                "source": source or "", "message": "", "since": None}

    def read_events(self, after_seq: int = 0, limit: int = 10_000) -> list[dict[str, Any]]:
        """Events with seq > after_seq (and after the last reset), oldest first, at most `limit`:
        page through the log by passing the last seq you got."""

        def query(db: sqlite3.Connection) -> list[dict[str, Any]]:
            return events_after(db, max(after_seq, int(meta(db).get("reset_seq") or 0)), limit)

        return self._writer.read(query, [])

    def live(self, now: float | None = None, rules: StallRules | None = None,
             status: dict[str, Any] | None = None) -> list[LiveStage]:
        """Every current entry with what it means now: progress, ETA, stalled or idle (`tracker.live`).
        `status`: a `read_status()` answer the caller already holds, so both views agree."""
        stats = self._stats.get()
        when = self._clock.wall() if now is None else now
        current = (self.read_status() if status is None else status)["current"]
        return [live_stage(source, username, entry, definitions=self.definitions, stats=stats, now=when,
                           rules=rules or StallRules())
                for source, accounts in current.items()
                for username, entry in accounts.items()]

    def read(self, query: Callable[[sqlite3.Connection], T], default: T) -> T:
        """`query` on one consistent view of the log (this tracker's connection, one read transaction);
        `default` while there is no log. For readers with questions of their own (the metrics)."""
        return self._writer.read(query, default)

    def end_cursor(self) -> Cursor:
        return self._writer.read(lambda db: Cursor(meta(db).get("log_id"), last_seq(db)), Cursor(None, 0))

    def read_new(self, cursor: Cursor, limit: int = 1000) -> ReadBatch:
        """The events after `cursor` (all of them, whatever `reset` did), and the cursor after them."""

        def query(db: sqlite3.Connection) -> ReadBatch:
            info = meta(db)
            log_id, after, changed = info.get("log_id"), cursor.seq, False
            if log_id != cursor.log_id and cursor.log_id is not None:  # a new log: read it from its start,
                changed, after = True, min(cursor.seq, int(info.get("base_seq") or 0))  # or from the cursor
            events = events_after(db, after, limit)
            end = events[-1]["seq"] if events else max(after, last_seq(db))
            missed = (events[0]["seq"] if events else end + 1) - after - 1
            return ReadBatch(events, Cursor(log_id, end), max(0, missed), changed)

        return self._writer.read(query, ReadBatch([], cursor, 0, False))


# -- the process-wide tracker and the pipeline's calls ----------------------------------------------

_tracker: MinerStageTracker | None = None
_tracker_guard = threading.Lock()
_source: str | None = None
_configured_file: Path | None = None
_definitions: StageDefinitions = DEFAULTS
# Every tracker's writer, closed at exit. Writers, not trackers: a tracker dropped with events still
# queued is gone, but its writer lives on in its housekeeping thread until they are written.
_live: weakref.WeakSet[LogWriter] = weakref.WeakSet()


def _process_source() -> str:
    if _source:
        return _source
    if os.environ.get(SOURCE_ENV):  # the spec's scripts that never call set_source
        return os.environ[SOURCE_ENV]
    script = Path(sys.argv[0]).stem if sys.argv and sys.argv[0] else ""
    return script or "python"


def set_source(source: str) -> None:
    """Name this process's events (e.g. "module1")."""
    global _source
    _source = source


def configure(status_file: str | os.PathLike[str], *, source: str | None = None,
              definitions: StageDefinitions | None = None) -> None:
    """Point this process's stage calls at `status_file` (and name them `source`, with the stage names
    of `definitions`): what an entry point does once it knows its data directory. Without it,
    `get_tracker` falls back to the spec's `MINER_STATUS_FILE` / `MINER_DATA_DIR` environment variables."""
    global _configured_file, _definitions, _tracker
    _configured_file = Path(status_file).expanduser().absolute()
    if definitions is not None and definitions is not _definitions:
        _definitions = definitions
        with _tracker_guard:
            if _tracker is not None:
                _tracker.definitions = definitions
    if source:
        set_source(source)


def get_tracker() -> MinerStageTracker:
    """The process-wide tracker for the configured status file (re-resolved if it changes)."""
    global _tracker
    wanted = _configured_file or layout.status_file()
    with _tracker_guard:
        if _tracker is None or _tracker.status_file != wanted:
            if _tracker is not None:
                _tracker.close(0.2)
            _tracker = MinerStageTracker(wanted)
        return _tracker


def stage_start(stage_number: int, message: str, username: str = "", details: Any = None) -> None:
    try:
        get_tracker().stage_start(stage_number, message, username, details)
    except Exception as exc:
        log.debug("stage tracker unavailable: %r", exc)


def stage_complete(stage_number: int, message: str, username: str = "", details: Any = None) -> None:
    try:
        get_tracker().stage_complete(stage_number, message, username, details)
    except Exception as exc:
        log.debug("stage tracker unavailable: %r", exc)


def stage_failed(stage_number: int, message: str, username: str = "", details: Any = None) -> None:
    try:
        get_tracker().stage_failed(stage_number, message, username, details)
    except Exception as exc:
        log.debug("stage tracker unavailable: %r", exc)


def stage_progress(stage_number: int, done: int, total: int, username: str = "") -> None:
    try:
        get_tracker().stage_progress(stage_number, done, total, username)
    except Exception as exc:
        log.debug("stage tracker unavailable: %r", exc)


def reset_stages() -> None:
    try:
        get_tracker().reset()
    except Exception as exc:
        log.debug("stage tracker unavailable: %r", exc)


def get_current_stage(source: str | None = None, username: str | None = None) -> dict[str, Any]:
    return get_tracker().get_current_stage(source, username)


def _after_fork_in_child() -> None:
    for writer in list(_live):
        writer.after_fork()


os.register_at_fork(after_in_child=_after_fork_in_child)


@atexit.register
def _close_at_exit() -> None:
    """Every tracker writes its queue, or keeps it in a spill file: nothing is dropped at exit."""
    deadline = time.monotonic() + EXIT_TIMEOUT_S
    for writer in list(_live):
        try:
            writer.close(max(0.05, deadline - time.monotonic()))
        except Exception as exc:
            log.debug("stage tracker: close at exit: %r", exc)
