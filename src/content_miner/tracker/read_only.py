"""Opening the stage log to read it without writing anything, not even SQLite's side files.

SQLite's `mode=ro` is not enough: a read-only connection to a WAL database creates `-wal` and `-shm`
beside it when they are missing, and leaves them there (seen with SQLite 3.40). So:

- a log with a `-wal` beside it is in use (or was, by a writer that died): `mode=ro` reads through
  the writer's own side files and creates nothing;
- a log without one holds everything in its main file: `immutable=1` reads that file with no lock
  and no side file. A writer that opens the log meanwhile could change the file under us, so
  `read_stage_log` looks again after the read and, when a `-wal` appeared, reads once more through it.
"""

from __future__ import annotations

import os
import sqlite3
from collections.abc import Callable
from pathlib import Path
from typing import TypeVar

from .log_file import FORMAT

T = TypeVar("T")


class LogUnreadable(Exception):
    """The stage log cannot be read; str() is the one-line reason."""


def _connect(path: Path, *, immutable: bool) -> sqlite3.Connection:
    flag = "immutable=1" if immutable else "mode=ro"
    db = sqlite3.connect(f"{path.as_uri()}?{flag}", uri=True, isolation_level=None, timeout=2.0)
    db.execute("PRAGMA query_only=1")
    return db


def _wal(path: Path) -> bool:
    return os.path.exists(f"{path}-wal")


def read_stage_log(path: Path, query: Callable[[sqlite3.Connection], T]) -> T:
    """`query` on one consistent view of the stage log at `path`, which is never written.

    Raises LogUnreadable (missing, not a stage log, damaged)."""
    if not path.is_file():
        raise LogUnreadable(f"no stage log at {path}" if not path.exists() else f"{path} is not a file")
    for attempt in range(2):
        immutable = not _wal(path)
        try:
            db = _connect(path, immutable=immutable)
        except sqlite3.Error as exc:
            raise LogUnreadable(f"cannot open the stage log {path}: {exc}") from None
        try:
            db.execute("BEGIN")  # one snapshot for every statement of the query
            try:
                found = db.execute("SELECT value FROM meta WHERE key = 'format'").fetchone()
            except sqlite3.Error:
                found = None
            if found is None or found[0] != FORMAT:
                raise LogUnreadable(f"{path} is not a stage log")
            result = query(db)
        except sqlite3.Error as exc:
            if immutable and attempt == 0 and _wal(path):
                continue  # a writer changed the file while we read it: read again, through its WAL
            raise LogUnreadable(f"cannot read the stage log {path}: {exc}") from None
        finally:
            db.close()
        if immutable and attempt == 0 and _wal(path):
            continue  # a writer opened the log during the read: what we read may be torn
        return result
    raise LogUnreadable(f"cannot read the stage log {path}: it changed during every read")
