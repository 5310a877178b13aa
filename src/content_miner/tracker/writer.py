"""Writing stage events from many processes without ever hurting the caller.

A call queues its event, then tries within about 100 ms to take the process's mutex and the
cross-process file lock and append everything queued to the journal. What cannot be written in
time stays queued, in order, for the next call or the housekeeping thread; past `MAX_PENDING` the
oldest queued events are dropped and counted. The housekeeping thread also folds the journal into
the status file a moment after writes (compaction). File-system trouble is healed where it can
be (a corrupt file, or a directory in the way, is moved aside and kept) and otherwise reported
once at debug level.
"""

from __future__ import annotations

import logging
import os
import threading
import time
from collections import deque
from collections.abc import Callable
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from filelock import FileLock, Timeout

from . import journal as journal_file
from . import status_file
from .compaction import fold
from .events import encode_event
from .history import synced_seq
from .journal import CorruptJournal, Journal
from .status_file import CorruptStatusFile, StatusDocument

log = logging.getLogger("miner_stage_tracker")

LOCK_TIMEOUT_S = 0.1
MAX_PENDING = 10_000
COMPACT_EVERY = 200  # journal events; past this the appending call compacts at once
COMPACT_AGE_S = 0.2  # otherwise compaction runs when the status file is this much older than a write
HOUSEKEEPING_INTERVAL_S = 0.1
HISTORY_INTERVAL_S = 1.0
STALL_WINDOW_S = 0.5  # after a lock timeout, calls queue without waiting for this long
MAX_CORRUPT_COPIES = 20
MAX_RING_BACKLOG = 20_000  # the ring keeps events the history lacks, up to this many


class StatusWriter:
    def __init__(
        self,
        path: Path,
        *,
        ring_size: int = 1000,
        lock_timeout: float = LOCK_TIMEOUT_S,
        on_compacted: Callable[[], None] | None = None,  # called from housekeeping, at most 1/s
        history_marker: Path | None = None,
    ) -> None:
        self.path = path
        self.journal_path = journal_file.journal_path(path)
        self.ring_size = ring_size
        self.history_marker = history_marker
        self.lock_timeout = lock_timeout
        self._on_compacted = on_compacted
        self._lock = FileLock(f"{path}.lock", timeout=lock_timeout, poll_interval=0.0005, thread_local=False)
        self._io = threading.Lock()  # one transaction at a time in this process
        self._guard = threading.Lock()  # held only for queue and flag updates
        self._pending: deque[dict[str, Any]] = deque()
        self._dirty = False  # the journal has events of ours the status file lacks
        self._appended_inode = 0  # the journal file our last append went to
        self._history_due = False
        self._history_at = 0.0
        self._stalled_until = 0.0
        self._housekeeper: threading.Thread | None = None
        self._reported: set[str] = set()
        self.counts = {"written": 0, "dropped": 0, "lock_timeouts": 0, "write_errors": 0, "heals": 0}

    # -- the call path ------------------------------------------------------------------------

    def submit(self, event: dict[str, Any]) -> None:
        """Queue `event` and try to write the queue within the lock deadline. Never raises."""
        overflow = 0
        with self._guard:
            self._pending.append(event)
            while len(self._pending) > MAX_PENDING:
                self._pending.popleft()
                overflow += 1
            self.counts["dropped"] += overflow
        if overflow:
            log.debug("stage tracker: queue full, dropped %d oldest events", overflow)
        if time.monotonic() >= self._stalled_until:
            self.flush(self.lock_timeout)
        self._ensure_housekeeper()

    def flush(self, timeout: float) -> bool:
        """Append everything queued within `timeout` seconds. True when the queue is empty."""
        deadline = time.monotonic() + timeout
        if not self._io.acquire(timeout=max(0.0, timeout)):
            return not self._pending
        try:
            with self._guard:
                batch = list(self._pending)
            if not batch:
                return True
            if self._locked(lambda: self._append_locked(batch), deadline - time.monotonic()):
                with self._guard:
                    for _ in batch:
                        self._pending.popleft()
                    self._dirty = True
                self.counts["written"] += len(batch)
            return not self._pending
        finally:
            self._io.release()

    def pending(self) -> int:
        return len(self._pending)

    def compact(self, timeout: float) -> bool:
        with self._guard:
            self._dirty = False  # cleared first: an append during compaction sets it again
        done = self._with_io(lambda: self._compact_locked(), timeout)
        with self._guard:
            if done:
                self._history_due = True
            else:
                self._dirty = True
        return done

    def reset(self, timeout: float) -> bool:
        """Empty the live state and the ring; keep the log id and the sequence counter."""

        def clear() -> None:
            document = self._compact_locked()
            document.header["current"], document.header["open"], document.body = {}, {}, b""
            status_file.write_atomically(self.path, document.to_bytes())

        return self._with_io(clear, timeout)

    # -- transactions -------------------------------------------------------------------------

    def _with_io(self, action: Callable[[], object], timeout: float) -> bool:
        deadline = time.monotonic() + timeout
        if not self._io.acquire(timeout=max(0.0, timeout)):
            return False
        try:
            return self._locked(action, deadline - time.monotonic())
        finally:
            self._io.release()

    def _locked(self, action: Callable[[], object], timeout: float) -> bool:
        try:
            try:
                self._lock.acquire(timeout=max(0.0, timeout))
            except FileNotFoundError:  # first write, or the directory was removed: make it
                self.path.parent.mkdir(parents=True, exist_ok=True)
                self._lock.acquire(timeout=max(0.0, timeout))
        except Timeout:
            self.counts["lock_timeouts"] += 1
            self._stalled_until = time.monotonic() + STALL_WINDOW_S
            self._once("lock", "stage tracker: status lock busy; events queued for retry")
            return False
        except OSError as exc:
            return self._failed("lock-os", f"cannot create the status file's directory or lock: {exc}")
        try:
            action()
            self._stalled_until = 0.0
            return True
        except OSError as exc:
            for path in (self.path, self.journal_path):
                if path.is_dir():
                    self._move_aside(path, "a directory is in the way")
            return self._failed("write", f"cannot write the status file: {exc}")
        except Exception as exc:  # a bug must not reach the pipeline either
            return self._failed("bug", f"stage tracker error: {exc!r}")
        finally:
            try:
                self._lock.release()
            except Exception:
                pass

    def _append_locked(self, batch: list[dict[str, Any]]) -> None:
        def encode(first_seq: int) -> bytes:
            for offset, event in enumerate(batch):
                event["seq"] = first_seq + offset
            return b"\n".join(encode_event(event) for event in batch) + b"\n"

        try:
            base, last, self._appended_inode = journal_file.append(self.journal_path, encode)
        except FileNotFoundError:
            self._compact_locked()  # creates the journal (and the status file if need be)
            base, last, self._appended_inode = journal_file.append(self.journal_path, encode)
        except (CorruptJournal, ValueError) as exc:
            self._once("journal", f"stage tracker: journal damaged ({exc}); salvaging it")
            self._compact_locked()
            base, last, self._appended_inode = journal_file.append(self.journal_path, encode)
        if last - base >= COMPACT_EVERY:
            try:
                self._compact_locked()
            except Exception as exc:  # the events are written: a failed fold must not re-queue them
                self._once("compact", f"stage tracker: compaction failed ({exc!r}); will retry")

    def _compact_locked(self) -> StatusDocument:
        """Fold the journal into the status file and start an empty journal. Returns the document."""
        document = self._read_status_or_heal()
        journal = self._read_journal_or_salvage()
        if document is None or (journal is not None and journal.log_id not in ("", document.log_id)):
            # The journal is where the latest writes went: its log id and numbering win.
            document = StatusDocument.new(
                time.time(),
                log_id=journal.log_id if journal and journal.log_id else None,
                last_seq=journal.base_seq if journal else 0,
            )
        if journal is not None:
            fold(document, journal, self._ring_for(document.log_id, journal.last_seq))
        document.header["updated_at"] = time.time()
        status_file.write_atomically(self.path, document.to_bytes())
        status_file.write_atomically(
            self.journal_path, journal_file.header_line(document.log_id, document.last_seq)
        )
        self._remove_orphaned_temp_files()
        return document

    def _remove_orphaned_temp_files(self) -> None:
        """Temp files of writers killed mid-write; under the lock, any older than a minute is one."""
        try:
            for temp in self.path.parent.glob(f".{self.path.name}*.tmp"):
                if time.time() - temp.stat().st_mtime > 60:
                    temp.unlink()
        except OSError:
            pass

    def _ring_for(self, log_id: str, last_seq: int) -> int:
        """The ring keeps at least `ring_size` events, and every event the history lacks yet
        (bounded), so a burst faster than the history sync loses nothing."""
        if self.history_marker is None:
            return self.ring_size
        unsynced = last_seq - synced_seq(self.history_marker, log_id)
        return max(self.ring_size, min(MAX_RING_BACKLOG, unsynced))

    def _read_status_or_heal(self) -> StatusDocument | None:
        try:
            return status_file.read(self.path)
        except IsADirectoryError:
            self._move_aside(self.path, "a directory is in the way")
        except CorruptStatusFile as exc:
            self._move_aside(self.path, str(exc))
        return None

    def _read_journal_or_salvage(self) -> Journal | None:
        try:
            return journal_file.read(self.journal_path)
        except IsADirectoryError:
            self._move_aside(self.journal_path, "a directory is in the way")
            return None
        except (CorruptJournal, ValueError) as exc:
            salvaged = journal_file.salvage(self.journal_path.read_bytes())
            self._move_aside(self.journal_path, f"{exc}; salvaged {len(salvaged.lines) if salvaged else 0} events")
            return salvaged

    # -- trouble ------------------------------------------------------------------------------

    def _move_aside(self, path: Path, reason: str) -> None:
        """Keep a damaged file (or whatever is in the way) for inspection; a new one replaces it."""
        stamp = datetime.now(timezone.utc).strftime("%Y%m%dT%H%M%S.%fZ")
        aside = path.with_name(f"{path.name}.corrupt-{stamp}")
        try:
            os.replace(path, aside)
        except OSError as exc:
            self._once(f"aside-{path.name}", f"stage tracker: cannot move {path} aside: {exc}")
            return
        self.counts["heals"] += 1
        log.debug("stage tracker: %s: %s; kept it as %s", path, reason, aside.name)
        for old in sorted(path.parent.glob(f"{path.name}.corrupt-*"))[:-MAX_CORRUPT_COPIES]:
            try:
                if old.is_file():
                    old.unlink()
            except OSError:
                pass

    def _failed(self, kind: str, message: str) -> bool:
        self.counts["write_errors"] += 1
        self._stalled_until = time.monotonic() + STALL_WINDOW_S
        self._once(kind, message + "; events queued for retry")
        return False

    def _once(self, kind: str, message: str) -> None:
        if kind not in self._reported:
            self._reported.add(kind)
            log.debug(message)

    # -- housekeeping: retries and compaction, off the call path ------------------------------

    def _ensure_housekeeper(self) -> None:
        with self._guard:
            if self._housekeeper is None:
                self._housekeeper = threading.Thread(
                    target=self._housekeeping, name="stage-tracker-housekeeping", daemon=True
                )
                self._housekeeper.start()

    def _housekeeping(self) -> None:
        while True:
            time.sleep(HOUSEKEEPING_INTERVAL_S)
            if self._pending:
                self.flush(self.lock_timeout)
            if self._dirty and not self._pending and self._compaction_due():
                self.compact(self.lock_timeout)
            if self._history_due and time.monotonic() - self._history_at >= HISTORY_INTERVAL_S:
                self._history_due, self._history_at = False, time.monotonic()
                if self._on_compacted is not None:
                    self._on_compacted()
            with self._guard:
                if not (self._pending or self._dirty or self._history_due):
                    self._housekeeper = None  # under the guard: the next submit starts a new one
                    return

    def _compaction_due(self) -> bool:
        """Whether to compact now. With many writers, one compaction serves them all: skip it when
        the journal we appended to was already replaced (our events are folded), or when the
        status file was rewritten a moment ago."""
        try:
            if os.stat(self.journal_path).st_ino != self._appended_inode:
                with self._guard:
                    self._dirty = False
                    self._history_due = True
                return False
            return time.time() - os.stat(self.path).st_mtime >= COMPACT_AGE_S
        except OSError:
            return True
