"""The stage log's database file: its schema, creating it atomically, setting a damaged one aside.

A new log is built complete under a temp name and then linked into place, so no process ever opens a
half-made log, and when two processes create one at once only the first link wins. A damaged file
is kept as `<name>.corrupt-<time>` with its `-wal`/`-shm`: a WAL left beside a new database would be
replayed into it (SQLite matches the two by file name only).
"""

from __future__ import annotations

import os
import sqlite3
import stat
import uuid
from datetime import datetime, timezone
from pathlib import Path

FORMAT = "content-miner-stage-log"
MAX_ASIDE_COPIES = 20
SIDE_FILES = ("-wal", "-shm")

SCHEMA = """
CREATE TABLE events (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,  -- AUTOINCREMENT: never reused, even after pruning
    ts REAL NOT NULL,                       -- wall clock, for display
    source TEXT NOT NULL,
    username TEXT NOT NULL,
    stage_number INTEGER,
    stage_name TEXT NOT NULL,
    status TEXT NOT NULL,
    message TEXT NOT NULL,
    details TEXT,                           -- JSON
    pid INTEGER,
    duration_s REAL                         -- completed/failed: from the monotonic clock when it can
);
CREATE INDEX events_by_stage ON events (source, stage_number, ts);
CREATE INDEX events_by_user ON events (username, seq);
CREATE TABLE current (
    source TEXT NOT NULL,
    username TEXT NOT NULL,
    seq INTEGER NOT NULL,
    stage_number INTEGER,
    stage_name TEXT NOT NULL,
    status TEXT NOT NULL,
    message TEXT NOT NULL,
    since REAL NOT NULL,
    pid INTEGER,
    started_at REAL,                        -- wall clock at the running stage's start
    started_mono REAL,                      -- its monotonic time, on clock `clock`
    clock TEXT,
    duration_s REAL,
    last_duration_s REAL,
    progress_done INTEGER,                  -- stage_progress() of the running stage: done of total,
    progress_total INTEGER,
    progress_at REAL,                       -- and when (wall clock)
    details TEXT,                           -- the latest transition's details (JSON)
    PRIMARY KEY (source, username)
) WITHOUT ROWID;
CREATE TABLE meta (key TEXT PRIMARY KEY, value) WITHOUT ROWID;
CREATE TABLE spills (name TEXT PRIMARY KEY, merged_at REAL NOT NULL) WITHOUT ROWID;
"""


def stamp(now: float) -> str:
    return datetime.fromtimestamp(now, timezone.utc).strftime("%Y%m%dT%H%M%S.%fZ")


def identity(path: Path) -> tuple[int, int] | str | None:
    """(device, inode) of the file, "dir" for a directory, None when there is nothing."""
    try:
        st = os.stat(path)
    except (FileNotFoundError, NotADirectoryError):
        return None
    return "dir" if stat.S_ISDIR(st.st_mode) else (st.st_dev, st.st_ino)


def create(path: Path, base_seq: int, now: float, *, replacing: bool) -> Path | None:
    """Put a new, empty log at `path` whose numbering continues after `base_seq`.

    `replacing`: whatever is at `path` now (a damaged file, a directory) is moved aside first, and
    its aside path returned. Raises FileExistsError when another process created a log meanwhile."""
    temp = path.with_name(f".{path.name}.{uuid.uuid4().hex}.tmp")
    try:
        db = sqlite3.connect(temp, isolation_level=None)
        # One transaction and no fsync: creating a log costs the stage call that needs it a few ms, not
        # the 50-500 ms an fsync takes on a busy disk. Commits are not synced either (synchronous=NORMAL:
        # safe when a process dies, not on power loss), so an empty log has nothing more to protect.
        try:
            db.execute("PRAGMA synchronous=OFF")
            db.execute("PRAGMA journal_mode=WAL")
            db.execute("BEGIN")
            for statement in SCHEMA.split(";"):
                db.execute(statement)
            db.executemany("INSERT INTO meta VALUES (?, ?)", [
                ("format", FORMAT), ("log_id", uuid.uuid4().hex), ("created_at", now), ("base_seq", base_seq),
                ("reset_seq", 0)])
            db.execute("INSERT INTO sqlite_sequence (name, seq) VALUES ('events', ?)", (base_seq,))
            db.execute("COMMIT")
        finally:
            db.close()  # the last connection: SQLite folds the WAL in and removes it
        if not replacing:
            _install_new(temp, path)
            return None
        return _install(temp, path, now)
    finally:
        for leftover in (temp, *(Path(f"{temp}{side}") for side in SIDE_FILES)):
            leftover.unlink(missing_ok=True)


def _install_new(temp: Path, path: Path) -> None:
    # Atomic, and fails if another process was first. A -wal/-shm already there is NOT moved: with
    # several writers starting at once it is most likely the live one of the process that just won
    # this race (moving it once lost every event of a benchmark run). A process that had the old log
    # open moves the side files it used before it gets here (`move_stale_side_files`).
    os.link(temp, path)


def _install(temp: Path, path: Path, now: float) -> Path:
    aside = path.with_name(f"{path.name}.corrupt-{stamp(now)}")
    if os.path.isdir(path):
        os.rename(path, aside)
        _move_side_files(path, aside)
        os.link(temp, path)
    else:
        os.link(path, aside)  # keep the damaged file, then replace it in one step: the path never
        _move_side_files(path, aside)  # goes missing, so nobody takes it for a deleted log
        os.replace(temp, path)
    return aside


def _move_side_files(path: Path, aside: Path) -> None:
    for side in SIDE_FILES:
        source = Path(f"{path}{side}")
        if source.exists():
            os.replace(source, Path(f"{aside}{side}"))
    _prune_aside_copies(path)


def side_identities(path: Path) -> list[tuple[int, int] | str | None]:
    return [identity(Path(f"{path}{side}")) for side in SIDE_FILES]


def move_stale_side_files(path: Path, seen: list[tuple[int, int] | str | None], now: float) -> None:
    """The log at `path` was replaced or deleted under an open connection: move aside the -wal/-shm
    that connection used (`seen`), so the new file is not read through them. Files that are not the
    ones seen belong to a process that already opened the new log: they stay."""
    aside = path.with_name(f"{path.name}.corrupt-{stamp(now)}")
    for side, known in zip(SIDE_FILES, seen, strict=True):
        if known is not None and identity(Path(f"{path}{side}")) == known:
            try:
                os.replace(Path(f"{path}{side}"), Path(f"{aside}{side}"))
            except FileNotFoundError:  # another process moved it first
                pass


def _prune_aside_copies(path: Path) -> None:
    for old in sorted(path.parent.glob(f"{path.name}.corrupt-*"))[:-MAX_ASIDE_COPIES * 3]:
        try:
            old.unlink()
        except OSError:  # a directory kept aside, or gone already: left alone
            pass


def remove_stale_temp_files(paths: list[Path], now: float, max_age_s: float = 60.0) -> None:
    """Temp files of processes killed while writing one of `paths` (`.<name>.<random>.tmp`)."""
    for path in paths:
        try:
            for temp in path.parent.glob(f".{path.name}.*.tmp"):
                if now - temp.stat().st_mtime > max_age_s:
                    temp.unlink()
        except OSError:
            pass


PROGRESS_COLUMNS = ("progress_done INTEGER", "progress_total INTEGER", "progress_at REAL", "details TEXT")


def add_missing_columns(db: sqlite3.Connection) -> None:
    """A log made before `current` had its progress and details columns gets them (outside any
    transaction)."""
    have = {row[1] for row in db.execute("PRAGMA table_info(current)")}
    for column in PROGRESS_COLUMNS:
        if column.split()[0] not in have:
            try:
                db.execute(f"ALTER TABLE current ADD COLUMN {column}")
            except sqlite3.OperationalError as exc:  # another process added it a moment ago
                if "duplicate column" not in str(exc):
                    raise
