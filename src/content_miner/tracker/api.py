"""Stage tracking for the content-recommendation miner.

The pipeline reports transitions with three calls that never raise and never block for more than
about 100 ms::

    stage_start(3, "Indexing 50 posts in vector database", username="elonmusk")
    stage_complete(3, "Successfully indexed posts in vector database", username="elonmusk")
    stage_failed(1, "Failed to scrape profile", username="badusername")

Every process appends to one status file (`MINER_STATUS_FILE`, else `miner_status.json` in the data
directory); the miner's `MinerStageReporter` turns the events into one log line each. The internals
live in the other modules of `content_miner.tracker`; this module is the public face.
"""

from __future__ import annotations

import atexit
import logging
import os
import sys
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from content_miner.common import layout
from content_miner.tracker.compaction import LiveView, read_view
from content_miner.tracker.events import new_event
from content_miner.tracker.history import StageHistory
from content_miner.tracker.live_state import latest_entry
from content_miner.tracker.log_lines import event_line, status_line
from content_miner.tracker.reporter import MinerStageReporter
from content_miner.tracker.stages import COMPLETED, FAILED, RUNNING, STAGE_NAMES, stage_name
from content_miner.tracker.writer import StatusWriter

# filelock logs every acquire and release at DEBUG; a reporter polling once a second would flood
# any debug log with them (STYLE.md).
logging.getLogger("filelock").setLevel(logging.WARNING)
log = logging.getLogger("miner_stage_tracker")

SOURCE_ENV = "MINER_SOURCE"

__all__ = [
    "COMPLETED", "FAILED", "RUNNING", "STAGE_NAMES", "Cursor", "MinerStageReporter",
    "MinerStageTracker", "ReadBatch", "configure", "event_line", "get_current_stage", "get_tracker",
    "reset_stages", "set_source", "stage_complete", "stage_failed", "stage_name", "stage_start",
    "status_line",
]


@dataclass(frozen=True)
class Cursor:
    """Where a reader is: the status file's log id and the last sequence number it has seen."""

    log_id: str | None
    seq: int


@dataclass(frozen=True)
class ReadBatch:
    events: list[dict[str, Any]]
    cursor: Cursor
    missed: int  # events after the old cursor in neither the ring nor the history
    log_changed: bool  # the status file was recreated since the old cursor


class MinerStageTracker:
    """One status file, written by this process as `source` and read by anyone."""

    def __init__(
        self,
        status_file: str | os.PathLike[str] | None = None,
        *,
        source: str | None = None,
        history_file: str | os.PathLike[str] | None = None,
        ring_size: int = 1000,
        lock_timeout: float = 0.1,
    ) -> None:
        path = Path(status_file) if status_file else layout.status_file()
        self.status_file = path.expanduser().absolute()
        self.ring_size = ring_size
        self._source = source
        self.history = StageHistory(
            Path(history_file) if history_file else self.status_file.with_name(layout.HISTORY_FILE_NAME)
        )
        self._writer = StatusWriter(
            self.status_file, ring_size=ring_size, lock_timeout=lock_timeout, on_compacted=self._sync_quietly,
            history_marker=self.history.marker_path,
        )
        self.history_errors = 0
        self._marked: tuple[str, int] | None = None

    # -- writing ------------------------------------------------------------------------------

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
            event = new_event(status, stage_number, message, username, details,
                              source=source or self.source, pid=os.getpid() if pid is None else pid)
            self._writer.submit(event)
        except Exception as exc:  # never into the pipeline
            log.debug("stage tracker: could not record an event: %r", exc)

    def flush(self, timeout: float = 1.0) -> bool:
        """Write anything still queued (lock busy, disk trouble). True when nothing is left."""
        deadline = time.monotonic() + timeout
        while not self._writer.flush(max(0.0, min(0.1, deadline - time.monotonic()))):
            if time.monotonic() >= deadline:
                return False
            time.sleep(0.01)
        return True

    def compact(self, timeout: float = 0.5) -> bool:
        """Fold the journal into the status file now (normally done a moment after each write)."""
        return self._writer.compact(timeout)

    def reset(self) -> None:
        """Start fresh: no live state, no events in the ring. The history keeps everything."""
        self.flush(0.5)
        self._sync_quietly()
        self._writer.reset(0.5)

    def stats(self) -> dict[str, int]:
        return {**self._writer.counts, "pending": self._writer.pending(), "history_errors": self.history_errors}

    def close(self, timeout: float = 0.5) -> None:
        """Write what is queued, fold it into the status file, update the history (bounded)."""
        self.flush(timeout)
        self._writer.compact(min(timeout, 0.2))
        self._sync_quietly()

    # -- reading ------------------------------------------------------------------------------

    def view(self) -> LiveView:
        view = read_view(self.status_file, self.ring_size)
        for problem in view.problems:
            log.debug("stage tracker: reading %s: %s", self.status_file, problem)
        return view

    def read_status(self) -> dict[str, Any]:
        """The live state: `current[source][username]`, `last_seq`, `log_id`, times."""
        view = self.view()
        if view.document is None:
            return {"log_id": None, "last_seq": 0, "updated_at": None, "created_at": None, "current": {}}
        header = view.document.header
        return {"log_id": header["log_id"], "last_seq": header["last_seq"],
                "updated_at": header.get("updated_at"), "created_at": header.get("created_at"),
                "current": header["current"]}

    def get_current_stage(self, source: str | None = None, username: str | None = None) -> dict[str, Any]:
        """The latest transition (of one source/account if given); status `idle` when there is none."""
        current = self.read_status()["current"]
        entry = latest_entry(current, source, username)
        if entry is None:
            return {"stage_number": None, "stage_name": "", "status": "idle", "username": username or "",
                    "source": source or "", "message": "", "since": None}
        return entry

    def read_events(self, after_seq: int = 0) -> list[dict[str, Any]]:
        """Recent events with seq > after_seq, oldest first (at least the last 1,000 are kept)."""
        return self.view().events_after(after_seq)

    def end_cursor(self) -> Cursor:
        view = self.view()
        return Cursor(view.log_id, view.last_seq)

    def read_new(self, cursor: Cursor) -> ReadBatch:
        view = self.view()
        if view.document is None:
            return ReadBatch([], cursor, 0, False)
        after, log_changed = cursor.seq, False
        if view.log_id != cursor.log_id:
            log_changed = cursor.log_id is not None
            after = 0
        first = view.first_seq()
        gap = max(0, first - (after + 1))
        # Events that left the ring before this reader saw them: the ring lets an event go only
        # once the history has it, so they are read back from there; what it lacks too is missed.
        recovered = self._from_history(view.log_id, after, first) if gap else []
        events = recovered + view.events_after(after)
        # Everything up to last_seq is now either in `events` or counted in `missed`.
        return ReadBatch(events, Cursor(view.log_id, max(after, view.last_seq)), gap - len(recovered), log_changed)

    def _from_history(self, log_id: str | None, after_seq: int, before_seq: int) -> list[dict[str, Any]]:
        try:
            return self.history.events_between(log_id or "", after_seq, before_seq)
        except Exception as exc:
            self.history_errors += 1
            log.debug("stage history: cannot read events %d-%d back: %r", after_seq + 1, before_seq - 1, exc)
            return []

    # -- history ------------------------------------------------------------------------------

    def sync_history(self) -> int:
        """Copy the events the history lacks into it; returns how many were new."""
        view = self.view()
        if view.document is None:
            return 0
        log_id = view.document.log_id
        known = self.history.last_seq(log_id)
        added = 0
        if view.last_seq > known:
            if known and view.first_seq() > known + 1:
                log.debug("stage history: %d events left the ring before they were stored",
                          view.first_seq() - known - 1)
            added = self.history.add(log_id, view.events_after(known))
        if (log_id, view.last_seq) != self._marked:
            self.history.mark_synced(log_id, view.last_seq)
            self._marked = (log_id, view.last_seq)
        return added

    def _sync_quietly(self) -> None:
        try:
            self.sync_history()
        except Exception as exc:
            self.history_errors += 1
            log.debug("stage history: sync failed: %r", exc)


# -- the process-wide tracker and the pipeline's calls ------------------------------------------

_tracker: MinerStageTracker | None = None
_tracker_guard = threading.Lock()
_source: str | None = None
_configured_file: Path | None = None


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


def configure(status_file: str | os.PathLike[str], *, source: str | None = None) -> None:
    """Point this process's stage calls at `status_file` (and name them `source`): what an entry
    point does once it knows its data directory. Without it, `get_tracker` falls back to the spec's
    `MINER_STATUS_FILE` / `MINER_DATA_DIR` environment variables."""
    global _configured_file
    _configured_file = Path(status_file).expanduser().absolute()
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


def reset_stages() -> None:
    try:
        get_tracker().reset()
    except Exception as exc:
        log.debug("stage tracker unavailable: %r", exc)


def get_current_stage(source: str | None = None, username: str | None = None) -> dict[str, Any]:
    return get_tracker().get_current_stage(source, username)


@atexit.register
def _flush_at_exit() -> None:
    if _tracker is not None:
        _tracker.close(0.5)
