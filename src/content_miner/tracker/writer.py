"""Writing stage events from many processes without ever hurting the caller.

A call queues its event, then writes the queue in one transaction if the log's lock comes within
about 100 ms. What cannot be written yet stays queued, in order, and a housekeeping thread retries
it; after a lock timeout, calls only queue for a moment (`STALL_WINDOW_S`) instead of each waiting
again. At exit (`close`) whatever is still queued after a bounded wait goes into a spill file that
the next writer or reader merges. The housekeeping thread also rebuilds the snapshot, checkpoints
the WAL, merges spill files, and, in the process that owns the log (the miner), applies retention.
"""

from __future__ import annotations

import itertools
import logging
import os
import sqlite3
import threading
import time
import weakref
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from typing import Any, TypeVar

from content_miner.common import layout

from . import log_file, snapshot, spill
from .background import SelfRestartingThread
from .events import Clock
from .live import PUBLISHED_KEY, StatsCache, stats_rows
from .stage_log import Busy, StageLog, Unavailable, current, events_after, failure_kind, insert, last_seq, meta

log = logging.getLogger("content_miner.tracker")
T = TypeVar("T")

LOCK_WAIT_S = 0.1  # the longest a stage call waits for the log
STALL_WINDOW_S = 0.5  # after a lock timeout, calls queue without waiting for this long
MAX_BATCH = 500  # events per transaction: keeps one transaction well inside LOCK_WAIT_S
MAX_PENDING = 50_000  # queued events kept in memory; past it the oldest are dropped, with a warning
LONG_BUSY_S = 10.0  # a lock held longer than this is worth a warning
TICK_S = 0.1
PROGRESS_EVERY_S = 1.0  # stage progress is written at most this often per source and account
SNAPSHOT_EVERY_S = 0.5
CHECKPOINT_EVERY_S = 1.0
SPILL_SCAN_EVERY_S = 2.0
PRUNE_EVERY_S = 600.0
PRUNE_CHUNK = 2000


@dataclass(frozen=True)
class Retention:
    """How much the log keeps: events younger than `keep_days`, and at most `max_rows` of them."""

    keep_days: float = 30.0
    max_rows: int = 1_000_000


class LogWriter:
    def __init__(self, status_file: Path, log_path: Path, clock: Clock, retention: Retention | None) -> None:
        self.status_file = status_file
        self.clock = clock
        self.retention = retention
        self.log = StageLog(log_path, status_file, clock.wall)
        self.stats = StatsCache(self.read, refresh_s=60.0, clock=clock.mono)  # the snapshot's stage figures (ETAs)
        self.readers: weakref.WeakSet[Any] = weakref.WeakSet()  # reporters: retention keeps their unread events
        self.counts = {"written": 0, "busy": 0, "write_errors": 0, "dropped": 0, "spilled": 0, "merged": 0}
        self._io = threading.RLock()  # one use of the connection at a time in this process
        self._guard = threading.Lock()  # held only for queue updates
        self._pending: deque[dict[str, Any]] = deque()
        self._stalled_until = 0.0
        self._busy_since: float | None = None
        self._incident: str | None = None  # the kind of write failure the operator was told about
        self._reason = "locked by another process"  # the last failure, in words
        self._snapshot_due = self._checkpoint_due = False
        self._progress_at: dict[tuple[str, str], float] = {}  # last progress write per (source, account)
        self._progress_later: dict[tuple[str, str], Callable[[sqlite3.Connection], int]] = {}
        self._snapshot_seq: tuple[int, float] = (-1, 0.0)  # (last seq, last progress) of this process's last snapshot
        self._next = {"snapshot": 0.0, "checkpoint": 0.0, "spills": 0.0, "prune": 0.0}
        self.thread = SelfRestartingThread("stage-tracker-housekeeping", self._tick, TICK_S)
        if retention is not None:  # the owner's housekeeping runs from the start: it may never write itself
            self.thread.poke()

    def after_fork(self) -> None:
        """In a forked child: nothing of the parent's (its queue is the parent's to write; a lock one
        of its threads held at the fork would never be released; its connection is not ours)."""
        self._io, self._guard, self._pending = threading.RLock(), threading.Lock(), deque()
        self._progress_at, self._progress_later = {}, {}
        self.thread = SelfRestartingThread(self.thread.name, self._tick, TICK_S)
        self.log.close(checkpointer=True)

    # -- the call path ----------------------------------------------------------------------------

    def submit(self, event: dict[str, Any]) -> None:
        with self._guard:
            self._pending.append(event)
            overflow = len(self._pending) - MAX_PENDING
            for _ in range(max(0, overflow)):
                self._pending.popleft()
        if overflow > 0:
            self.counts["dropped"] += overflow
            if self.counts["dropped"] == overflow:
                log.warning("⚠️  Stage tracking: more than %d stage events are waiting for the stage log %s; "
                            "dropping the oldest (%s)", MAX_PENDING, self.log.path, self._reason)
        if time.monotonic() >= self._stalled_until:
            self.flush(LOCK_WAIT_S)
        self.thread.poke()

    def progress(self, key: tuple[str, str], write: Callable[[sqlite3.Connection], int], final: bool) -> None:
        """A stage's progress for `key` (source, account): written now when the last write for it is
        PROGRESS_EVERY_S old (or this is the stage's last item), else kept for the housekeeping thread
        to write once it is. So at most about one write a second, and the latest progress always
        lands within about a second, however long the stage then waits (or if its process freezes)."""
        now = self.clock.mono()
        with self._guard:
            last = self._progress_at.get(key)
            due = final or last is None or now - last >= PROGRESS_EVERY_S
            if due:
                if len(self._progress_at) > 10_000:
                    self._progress_at.clear()
                self._progress_at[key] = now
                self._progress_later.pop(key, None)
            else:
                self._progress_later[key] = write
        if due:
            self.transaction(write, 0.05)
        else:
            self.thread.poke()

    def _write_later_progress(self) -> None:
        now = self.clock.mono()
        with self._guard:
            ready = [(key, write) for key, write in self._progress_later.items()
                     if now - self._progress_at.get(key, 0.0) >= PROGRESS_EVERY_S]
            for key, _ in ready:
                del self._progress_later[key]
                self._progress_at[key] = now
        for _, write in ready:
            self.transaction(write, LOCK_WAIT_S)

    def pending(self) -> int:
        return len(self._pending)

    def flush(self, timeout: float) -> bool:
        """Write the queue, in order, within `timeout` seconds. True when nothing is left."""
        deadline = time.monotonic() + timeout
        if not self._io.acquire(timeout=max(0.0, timeout)):
            return not self._pending
        try:
            while self._pending:
                with self._guard:
                    batch = list(itertools.islice(self._pending, MAX_BATCH))
                if not self._write(partial(insert, events=batch), deadline):
                    return False
                with self._guard:
                    for _ in batch:
                        self._pending.popleft()
                self.counts["written"] += len(batch)
                if time.monotonic() >= deadline:
                    break
            return not self._pending
        finally:
            self._io.release()

    def drain(self, timeout: float) -> bool:
        """`flush`, retried until `timeout` has passed. True when nothing is left."""
        deadline = time.monotonic() + timeout
        while not self.flush(max(0.0, min(LOCK_WAIT_S, deadline - time.monotonic()))):
            if time.monotonic() >= deadline:
                return False
            time.sleep(0.01)
        return True

    def transaction(self, action: Callable[[sqlite3.Connection], int], timeout: float) -> bool:
        """Run `action` in one write transaction within `timeout`; False if it could not be done."""
        with self._io:
            return self._write(action, time.monotonic() + timeout)

    def _write(self, action: Callable[[sqlite3.Connection], int], deadline: float) -> bool:
        """One transaction (under `_io`); False when it must wait. Failures are told once per incident."""
        try:
            seq = self.log.write(action, deadline)
        except Busy:
            self.counts["busy"] += 1
            now = time.monotonic()
            self._stalled_until = now + STALL_WINDOW_S
            self._busy_since = self._busy_since or now
            self._reason = "locked by another process"
            if now - self._busy_since > LONG_BUSY_S and self._incident is None:
                self._incident = "busy"
                log.warning("⚠️  Stage tracking: the stage log %s has been locked by another process for over %g s; "
                            "%d events wait in memory, in order", self.log.path, LONG_BUSY_S, len(self._pending))
            return False
        except Exception as exc:  # Unavailable, or a bug: neither may reach the pipeline
            self.counts["write_errors"] += 1
            self._stalled_until = time.monotonic() + STALL_WINDOW_S
            kind = failure_kind(exc) if isinstance(exc, Unavailable) else f"error {exc!r}"
            self._reason = str(exc) if isinstance(exc, Unavailable) else repr(exc)
            if self._incident != kind:
                self._incident = kind
                log.warning("⚠️  Stage tracking: cannot write the stage log %s (%s); %d events wait in memory, "
                            "in order, and are retried", self.log.path, exc, len(self._pending))
            return False
        self.log.known_seq = max(self.log.known_seq, seq)
        self._busy_since = None
        self._snapshot_due = self._checkpoint_due = True
        if self._incident is not None:
            self._incident = None
            log.info("Stage tracking: the stage log %s is writable again", self.log.path)
        return True

    # -- reading ----------------------------------------------------------------------------------

    def read(self, action: Callable[[sqlite3.Connection], T], default: T) -> T:
        """`action` on a consistent view of the log; `default` when there is no readable log."""
        with self._io:
            if time.monotonic() >= self._next["spills"]:
                self.merge_spills()
            try:
                return self.log.read(action, default)
            except (sqlite3.Error, Busy, Unavailable, OSError) as exc:
                log.debug("stage tracker: reading %s: %r", self.log.path, exc)
                self.log.close()
                return default

    # -- exit -------------------------------------------------------------------------------------

    def close(self, timeout: float) -> None:
        """Write the queue within `timeout`; keep what is left in a spill file; rebuild the snapshot."""
        deadline = time.monotonic() + timeout
        self.drain(timeout)
        self.thread.stop(max(0.0, deadline - time.monotonic()) + 0.2)
        with self._io:  # no other thread can write these events while they go to the spill file
            if self._pending:
                self._spill()
            if self._snapshot_due:
                self.write_snapshot()
            self.log.close(checkpointer=not self.thread.alive)

    def _spill(self) -> None:
        with self._guard:
            events = list(self._pending)
            self._pending.clear()
        try:
            path = spill.write(self.status_file, events, os.getpid())
        except OSError as exc:
            log.warning("⚠️  Stage tracking: %d stage events are lost: the stage log %s could not take them "
                        "(%s) and no spill file could be written (%s)", len(events), self.log.path,
                        self._reason, exc)
            return
        self.counts["spilled"] += len(events)
        log.warning("⚠️  Stage tracking: the stage log %s was not writable at exit (%s); kept %d events in %s "
                    "for the next writer or reader to merge", self.log.path,
                    self._reason, len(events), path.name)

    def merge_spills(self) -> None:
        """Merge other processes' spill files, each in one transaction, oldest first (under `_io`)."""
        self._next["spills"] = time.monotonic() + SPILL_SCAN_EVERY_S
        for path in layout.stage_spill_files(self.status_file):
            try:
                events, bad = spill.read(path)
            except OSError:
                continue  # merged and removed by another process meanwhile
            with self._io:
                merged = self._write(partial(spill.merge, name=path.name, events=events, now=self.clock.wall()),
                                     time.monotonic() + LOCK_WAIT_S)
            if not merged:
                return
            path.unlink(missing_ok=True)
            self.counts["merged"] += len(events)
            log.info("Stage tracking: merged %d events from %s", len(events), path.name)
            if bad:
                log.warning("⚠️  Stage tracking: %d unreadable lines in %s: those events are lost", bad, path.name)

    # -- housekeeping -----------------------------------------------------------------------------

    def _tick(self) -> bool:
        """One round of background work; True while there is more to do. Each step takes the
        connection on its own, so a stage call never waits behind more than one of them."""
        now = time.monotonic()
        if self._pending:
            self.flush(LOCK_WAIT_S)
        if now >= self._next["spills"]:
            self.merge_spills()
        if self._progress_later:
            self._write_later_progress()
        if self.retention is not None and now >= self._next["prune"]:
            self._next["prune"] = now + PRUNE_EVERY_S
            self.prune(self.retention)
            log_file.remove_stale_temp_files([self.status_file, self.log.path, self.status_file.with_name(
                layout.STAGE_SPILL_PREFIX + "*")], time.time())
        if self._checkpoint_due and now >= self._next["checkpoint"]:
            self._next["checkpoint"] = now + CHECKPOINT_EVERY_S
            self._checkpoint_due = False
            try:
                self.log.checkpoint()  # not under `_io`: see StageLog.checkpoint
            except sqlite3.Error as exc:
                log.debug("stage tracker: checkpoint: %r", exc)
        if self.retention is not None and not self._snapshot_due and now >= self._next["snapshot"]:
            # The owner keeps the snapshot up with every writer's events, and with their progress, which
            # is no event (a writer frozen after it cannot show it); looked at only when it may be written.
            self._snapshot_due = self.read(log_version, (0, 0.0)) != self._snapshot_seq
        if self._snapshot_due and now >= self._next["snapshot"]:
            self._next["snapshot"] = now + SNAPSHOT_EVERY_S
            self.write_snapshot()
        return self.retention is not None or bool(self._pending or self._snapshot_due or self._checkpoint_due
                                                  or self._progress_later)

    def write_snapshot(self) -> None:
        self._snapshot_due = False
        now = self.clock.wall()
        found = self.read(lambda db: (snapshot_document(db, now, self.stats), log_version(db)), None)
        if found is None:
            return
        doc, version = found
        try:
            snapshot.write(self.status_file, doc, now)
        except OSError as exc:
            self._snapshot_due = True
            log.debug("stage tracker: cannot write the status file %s: %r", self.status_file, exc)
            return
        self._snapshot_seq = version

    def prune(self, retention: Retention) -> int:
        """Apply retention, oldest first, in small transactions; never past a reader's unread events."""
        protect = min((reader.unread_after for reader in list(self.readers)), default=None)
        before = self.clock.wall() - retention.keep_days * 86400
        removed = 0
        while True:
            chunk: list[int] = []
            with self._io:
                ok = self._write(partial(prune_chunk, before_ts=before, max_rows=retention.max_rows,
                                         protect=protect, out=chunk), time.monotonic() + LOCK_WAIT_S)
            if not ok or not chunk[-1]:
                break
            removed += chunk[-1]
            self._snapshot_due = True
        return removed


def log_version(db: sqlite3.Connection) -> tuple[int, float]:
    """What the snapshot shows changes with: the last event, and the latest progress of any stage."""
    latest = db.execute("SELECT max(progress_at) FROM current").fetchone()[0]
    return last_seq(db), float(latest or 0.0)


def prune_chunk(db: sqlite3.Connection, before_ts: float, max_rows: int, protect: int | None,
                out: list[int]) -> int:
    """Delete the oldest events that are too old or too many (up to PRUNE_CHUNK); stale live state too."""
    last = last_seq(db)
    cut = 0
    for seq, ts in db.execute("SELECT seq, ts FROM events ORDER BY seq LIMIT ?", (PRUNE_CHUNK,)).fetchall():
        if (protect is not None and seq > protect) or not (ts < before_ts or seq <= last - max_rows):
            break
        cut = seq
    deleted = db.execute("DELETE FROM events WHERE seq <= ?", (cut,)).rowcount if cut else 0
    db.execute("DELETE FROM current WHERE since < ?", (before_ts,))
    db.execute("DELETE FROM spills WHERE merged_at < ?", (before_ts,))
    out.append(deleted)
    return last


def snapshot_document(db: sqlite3.Connection, now: float, stats: StatsCache | None = None) -> dict[str, Any]:
    info = meta(db)
    last = last_seq(db)
    start = max(int(info.get("reset_seq") or 0), last - snapshot.RECENT_EVENTS)
    header = {"log_id": info.get("log_id"), "last_seq": last, "created_at": info.get("created_at"),
              "updated_at": now, "current": current(db), "stage_stats": stats_rows(stats.get(db)) if stats else [],
              "published": info.get(PUBLISHED_KEY)}
    return snapshot.document(header, events_after(db, start, snapshot.RECENT_EVENTS))
