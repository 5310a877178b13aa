"""The stage log: one SQLite database (WAL) that holds every stage event and the live state.

Each write is one `BEGIN IMMEDIATE` transaction that inserts the events (SQLite numbers them: `seq`)
and updates `current`, the latest transition per (source, username). Readers read by `seq`. A
`StageLog` is one process's connection, used under its tracker's lock; before every use it checks
that the file at the path is still the one it has open (a deleted or replaced log would otherwise
take writes into a file nobody reads), and it repairs what it finds broken: see `log_file.py`.
"""

from __future__ import annotations

import json
import logging
import os
import sqlite3
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

from . import log_file, snapshot
from .stages import COMPLETED, FAILED, RUNNING

log = logging.getLogger("content_miner.tracker")
T = TypeVar("T")

COLUMNS = "seq, ts, source, username, stage_number, stage_name, status, message, details, pid, duration_s"
CURRENT = ("stage_number, stage_name, status, message, since, started_at, duration_s, last_duration_s, pid, seq, "
           "progress_done, progress_total, progress_at, details")
CURRENT_ROW = ("source, username, seq, stage_number, stage_name, status, message, since, pid, started_at, "
               "started_mono, clock, duration_s, last_duration_s, details")


class Busy(Exception):
    """Another process holds the write lock past our deadline: try again later."""


class Unavailable(Exception):
    """The log cannot be written now (disk full, no permission...): try again later."""


def failure_kind(exc: BaseException) -> str:
    """busy, full, corrupt or other. Python < 3.11 has no error codes on sqlite3 errors: SQLite's own
    messages are matched too ("database is locked", "database or disk is full", ...)."""
    text = f"{getattr(exc, 'sqlite_errorname', '')} {exc}".lower()
    if "busy" in text or "locked" in text:
        return "busy"
    if "full" in text or getattr(exc, "errno", None) == 28:
        return "full"
    if any(word in text for word in ("notadb", "not a database", "corrupt", "malformed", "not a stage log")):
        return "corrupt"
    return "other"


class StageLog:
    def __init__(self, path: Path, status_file: Path, wall: Callable[[], float]) -> None:
        self.path = path
        self.status_file = status_file
        self.wall = wall
        self.known_seq = 0  # the highest seq this process has seen: numbering never goes below it
        self.repairs = 0
        self._db: sqlite3.Connection | None = None
        self._identity: tuple[int, int] | str | None = None
        self._sides: list[tuple[int, int] | str | None] = []  # the -wal/-shm the connection uses
        self._pid = os.getpid()
        self._bump = False  # the log's numbering is behind known_seq: raise it in the next write
        self._busy_ms = 100  # the connection's busy timeout now
        self._checkpointer: sqlite3.Connection | None = None
        self._checkpointed: tuple[int, int] | str | None = None  # the file it is open on

    # -- the connection ------------------------------------------------------------------------

    def connection(self, *, create: bool, deadline: float | None = None) -> sqlite3.Connection | None:
        """The open log, reopened if the file changed; None when there is none (and not `create`).
        Opening waits for other processes (WAL recovery) until `deadline` at most (else 1 s)."""
        found = log_file.identity(self.path)
        if self._db is not None and found == self._identity and self._pid == os.getpid():
            return self._db
        had_log = self._db is not None and self._pid == os.getpid()  # (not a connection inherited by fork)
        if had_log and found != self._identity:  # replaced or deleted under us: SQLite would read the new
            log_file.move_stale_side_files(self.path, self._sides, self.wall())  # file through our old WAL
        self.close()
        if found is None:
            if not create:
                return None
            self._create(replacing=False, why="was missing (deleted?)" if had_log else "")
        elif found == "dir":
            if not create:
                return None
            self._create(replacing=True, why="had a directory in its place")
        return self._open(create, deadline)

    def _open(self, create: bool, deadline: float | None, attempts: int = 3) -> sqlite3.Connection | None:
        found = log_file.identity(self.path)
        wait_s = 1.0 if deadline is None else max(0.001, deadline - time.monotonic())
        try:
            db = _connect(self.path, wait_s)
            try:
                db.execute("PRAGMA synchronous=NORMAL")  # durable against a killed process, not power loss
                db.execute("PRAGMA wal_autocheckpoint=0")  # checkpoints run in the background, not in a call
                db.execute("PRAGMA journal_size_limit=4194304")
                try:
                    meta = dict(db.execute("SELECT key, value FROM meta").fetchall())
                except sqlite3.OperationalError as exc:  # "no such table": an empty file, another program's
                    if "no such table" not in str(exc):  # database
                        raise
                    meta = {}
                if meta.get("format") != log_file.FORMAT:
                    raise sqlite3.DatabaseError("not a stage log")
                log_file.add_missing_columns(db)
                last = last_seq(db)
                moved = log_file.identity(self.path) != found
                if moved:  # replaced while we opened it: this connection may be on either file, and
                    db.close()  # taking the new one for the old would move its live WAL aside later
            except BaseException:
                db.close()
                raise
        except sqlite3.Error as exc:
            kind, exc = self._failure(exc)
            if kind != "corrupt" or not create:
                raise (Busy if kind == "busy" else Unavailable)(f"{exc}") from None
            if log_file.identity(self.path) == found:  # nobody repaired it meanwhile
                self._create(replacing=True, why=f"was unusable ({exc})")
            return self._open(False, deadline)
        if moved:
            if attempts <= 1:
                raise Unavailable("the stage log was replaced again and again while being opened")
            return self._open(create, deadline, attempts - 1)
        self._db, self._identity, self._pid, self._busy_ms = db, found, os.getpid(), int(wait_s * 1000)
        self._sides = log_file.side_identities(self.path)
        self.known_seq = max(self.known_seq, snapshot.last_seq(self.status_file))
        if last < self.known_seq:
            self._bump = True
            log.warning("⚠️  Stage tracking: the stage log %s ends at seq %d but seq %d had been written (replaced "
                        "or restored from a copy?); %d events are known lost; numbering continues at %d",
                        self.path, last, self.known_seq, self.known_seq - last, self.known_seq + 1)
        return db

    def _create(self, *, replacing: bool, why: str) -> None:
        known = max(self.known_seq, snapshot.last_seq(self.status_file))
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            aside = log_file.create(self.path, known, self.wall(), replacing=replacing)
        except FileExistsError:
            return  # another process made one a moment ago: use it
        except OSError as exc:
            raise Unavailable(f"cannot create {self.path}: {exc}") from None
        except sqlite3.Error as exc:
            raise Unavailable(f"cannot create {self.path}: {exc}") from None
        if not why and not known:
            return  # a first start: nothing to report
        self.repairs += 1
        kept = f"kept it aside as {aside.name}; " if aside else ""
        lost = f"{known} earlier events are known lost from the log" if known else "no earlier events were known"
        log.warning("⚠️  Stage tracking: the stage log %s %s; %sa new log continues at seq %d (%s)",
                    self.path, why or "was missing", kept, known + 1, lost)

    def close(self, *, checkpointer: bool = False) -> None:
        """Close the connection (and the checkpointer's: only when the housekeeping thread is stopped)."""
        for db in (self._db, self._checkpointer if checkpointer else None):
            if db is not None and self._pid == os.getpid():  # never close a connection inherited by fork
                try:
                    db.close()
                except sqlite3.Error:
                    pass
        self._db, self._identity = None, None
        if checkpointer:
            self._checkpointer = self._checkpointed = None

    # -- transactions ---------------------------------------------------------------------------

    def write(self, action: Callable[[sqlite3.Connection], T], deadline: float) -> T:
        """Run `action` in one write transaction, waiting for the lock until `deadline` at most.
        Raises Busy or Unavailable; repairs damage on the way."""
        for attempt in range(2):
            db = self.connection(create=True, deadline=deadline)
            assert db is not None
            try:
                wait_ms = max(0, min(100, int((deadline - time.monotonic()) * 1000)))
                if wait_ms != self._busy_ms:  # most calls have the whole 100 ms: no statement for it
                    db.execute(f"PRAGMA busy_timeout={wait_ms}")
                    self._busy_ms = wait_ms
                db.execute("BEGIN IMMEDIATE")
                try:
                    if self._bump:
                        db.execute("UPDATE sqlite_sequence SET seq = max(seq, ?) WHERE name = 'events'",
                                    (self.known_seq,))
                    result = action(db)
                    db.execute("COMMIT")
                except BaseException:
                    if db.in_transaction:
                        db.execute("ROLLBACK")
                    raise
                self._bump = False
                return result
            except sqlite3.Error as exc:
                kind, exc = self._failure(exc)
                if kind == "busy":
                    raise Busy(str(exc)) from None
                if kind == "corrupt" and attempt == 0:
                    damaged = self._identity
                    self.close()
                    if log_file.identity(self.path) == damaged:  # nobody repaired it meanwhile
                        self._create(replacing=True, why=f"was unusable ({exc})")
                    continue
                raise Unavailable(str(exc)) from None
        raise Unavailable("the stage log could not be repaired")

    def read(self, action: Callable[[sqlite3.Connection], T], default: T) -> T:
        """`action` on a consistent view of the log (one read transaction); `default` without a log."""
        db = self.connection(create=False)
        if db is None:
            return default
        db.execute("BEGIN")
        try:
            return action(db)
        finally:
            db.execute("COMMIT")

    def checkpoint(self) -> None:
        """Copy the WAL into the database file (PASSIVE: never waits for anyone). On a connection of
        its own, so it needs no lock that a stage call takes: with its fsync it can take 100 ms."""
        target = self._identity
        if target is None or log_file.identity(self.path) != target:
            return  # no log, or a new file the connection has not checked yet (and moved stale WALs for)
        if self._checkpointer is None or self._checkpointed != target:
            if self._checkpointer is not None:
                self._checkpointer.close()
            self._checkpointer, self._checkpointed = _connect(self.path, 1.0), target
        self._checkpointer.execute("PRAGMA wal_checkpoint(PASSIVE)")

    def _failure(self, exc: sqlite3.Error) -> tuple[str, sqlite3.Error]:
        """What kind of failure; a log file this process may not read or write counts as damage
        (to be set aside), so a permission problem does not keep every event queued forever."""
        kind = failure_kind(exc)
        if kind == "other":
            try:
                with open(self.path, "r+b"):
                    pass
            except PermissionError:
                return "corrupt", sqlite3.DatabaseError("permission denied")
            except OSError:
                pass
        return kind, exc


def _connect(path: Path, wait_s: float) -> sqlite3.Connection:
    """A connection to an existing log (never creating one) that waits `wait_s` at most for a lock."""
    return sqlite3.connect(f"{path.as_uri()}?mode=rw", uri=True, isolation_level=None, check_same_thread=False,
                           timeout=wait_s)


# -- statements, on a connection inside a transaction ---------------------------------------------


def insert(db: sqlite3.Connection, events: list[dict[str, Any]], *, merged: bool = False) -> int:
    """Number and store `events`, in order, updating `current`; returns the last seq.

    A completion or failure gets `duration_s` from the matching start (same source, account and
    stage): from the monotonic clock when both were stamped on the same one, else the wall clock.
    `merged` events (from a spill file) do not replace a newer live state of their account."""
    seq = 0
    for e in events:
        row = db.execute("SELECT status, stage_number, started_at, started_mono, clock, last_duration_s, since "
                         "FROM current WHERE source = ? AND username = ?", (e["source"], e["username"])).fetchone()
        duration = started_at = started_mono = clock = None
        last_duration = row[5] if row else None
        if e["status"] == RUNNING:
            started_at, started_mono, clock = e["timestamp"], e["mono"], e["clock"]
        elif e["status"] in (COMPLETED, FAILED):
            if row and row[0] == RUNNING and row[1] == e["stage_number"]:
                started_at = row[2]
                if row[4] == e["clock"] and row[3] is not None:
                    duration = e["mono"] - row[3]
                else:
                    duration = e["timestamp"] - row[2]
                duration = round(max(0.0, duration), 6)
            last_duration = duration
        seq = db.execute(
            "INSERT INTO events (ts, source, username, stage_number, stage_name, status, message, details, pid, "
            "duration_s) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (e["timestamp"], e["source"], e["username"], e["stage_number"], e["stage_name"], e["status"],
             e["message"], e["details"], e["pid"], duration)).lastrowid or 0
        if merged and row and row[6] > e["timestamp"]:
            continue
        db.execute(f"INSERT OR REPLACE INTO current ({CURRENT_ROW}) VALUES ({', '.join('?' * 15)})",
                   (e["source"], e["username"], seq, e["stage_number"], e["stage_name"], e["status"], e["message"],
                    e["timestamp"], e["pid"], started_at, started_mono, clock, duration, last_duration, e["details"]))
    return seq


def last_seq(db: sqlite3.Connection) -> int:
    """The last seq ever given (pruned or not)."""
    row = db.execute("SELECT seq FROM sqlite_sequence WHERE name = 'events'").fetchone()
    return int(row[0]) if row else 0


def meta(db: sqlite3.Connection) -> dict[str, Any]:
    return dict(db.execute("SELECT key, value FROM meta").fetchall())


def event(row: tuple[Any, ...]) -> dict[str, Any]:
    seq, ts, source, username, number, name, status, message, details, pid, duration = row
    return {"seq": seq, "timestamp": ts, "source": source, "username": username, "stage_number": number,
            "stage_name": name, "status": status, "message": message,
            "details": None if details is None else json.loads(details), "pid": pid, "duration_s": duration}


def events_after(db: sqlite3.Connection, after_seq: int, limit: int) -> list[dict[str, Any]]:
    rows = db.execute(f"SELECT {COLUMNS} FROM events WHERE seq > ? ORDER BY seq LIMIT ?", (after_seq, limit))
    return [event(row) for row in rows]


def current_where(db: sqlite3.Connection, condition: str = "", params: tuple[Any, ...] = (), *,
                  newest_only: bool = False) -> dict[str, dict[str, dict[str, Any]]]:
    """`{source: {username: entry}}` of the `current` rows matching `condition` (SQL, empty for all),
    accounts in the order of their latest transition (`newest_only`: just the latest one). Details
    that are not JSON read as None."""
    query = f"SELECT source, username, {CURRENT} FROM current" + (f" WHERE {condition}" if condition else "")
    query += " ORDER BY seq" + (" DESC LIMIT 1" if newest_only else "")
    found: dict[str, dict[str, dict[str, Any]]] = {}
    for row in db.execute(query, params):
        entry = dict(zip(CURRENT.split(", "), row[2:], strict=True))
        try:
            entry["details"] = None if entry["details"] is None else json.loads(entry["details"])
        except ValueError:
            entry["details"] = None
        found.setdefault(row[0], {})[row[1]] = entry
    return found


def current(db: sqlite3.Connection, source: str | None = None, username: str | None = None,
            latest_only: bool = False) -> dict[str, dict[str, dict[str, Any]]]:
    """`{source: {username: entry}}`, accounts in the order of their latest transition."""
    return current_where(db, "(? IS NULL OR source = ?) AND (? IS NULL OR username = ?)",
                         (source, source, username, username), newest_only=latest_only)


def set_meta(db: sqlite3.Connection, key: str, value: str) -> int:
    """Record a fact about the log (such as what its owner published); 0 (no event is numbered)."""
    db.execute("INSERT OR REPLACE INTO meta VALUES (?, ?)", (key, value))
    return 0


def set_progress(db: sqlite3.Connection, source: str, username: str, stage_number: int, done: int, total: int,
                 now: float) -> int:
    """Record how far the running `stage_number` of (source, username) is; 0 (no event is numbered)."""
    db.execute("UPDATE current SET progress_done = ?, progress_total = ?, progress_at = ? WHERE source = ? "
               "AND username = ? AND stage_number = ? AND status = 'running'",
               (done, total, now, source, username, stage_number))
    return 0
