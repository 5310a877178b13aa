"""The durable stage history: every event ever written, in SQLite, for durations and analytics.

The history is filled from the status file's ring (`StageHistory.sync`), never from inside a stage
call: writers ask a background thread to sync after they write, and the miner's reporter syncs on
every poll, so events of a writer killed right after writing still arrive. Rows are keyed by
(log_id, seq), so syncing the same events twice, from several processes, is harmless.
"""

from __future__ import annotations

import json
import logging
import os
import sqlite3
from collections.abc import Iterable
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from content_miner.common.atomic_files import write_bytes_atomic

log = logging.getLogger("miner_stage_tracker")

_SCHEMA = """
CREATE TABLE IF NOT EXISTS stage_events (
    log_id TEXT NOT NULL,
    seq INTEGER NOT NULL,
    timestamp REAL NOT NULL,
    source TEXT NOT NULL,
    pid INTEGER,
    stage_number TEXT NOT NULL,
    stage_name TEXT NOT NULL,
    status TEXT NOT NULL,
    message TEXT NOT NULL,
    username TEXT NOT NULL,
    details TEXT,
    duration_s REAL,
    PRIMARY KEY (log_id, seq)
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS stage_events_by_account
    ON stage_events (username, stage_number, timestamp);
CREATE INDEX IF NOT EXISTS stage_events_by_time ON stage_events (timestamp);
"""

_COLUMNS = (
    "log_id", "seq", "timestamp", "source", "pid", "stage_number", "stage_name",
    "status", "message", "username", "details", "duration_s",
)


class StageHistory:
    def __init__(self, path: Path, *, busy_timeout_s: float = 2.0) -> None:
        self.path = path
        self.busy_timeout_s = busy_timeout_s

    def _connect(self) -> sqlite3.Connection:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        connection = sqlite3.connect(self.path, timeout=self.busy_timeout_s, isolation_level=None)
        try:
            connection.execute("PRAGMA journal_mode=WAL")
            connection.execute("PRAGMA synchronous=NORMAL")
            connection.executescript(_SCHEMA)
        except sqlite3.DatabaseError as exc:
            connection.close()
            if "not a database" in str(exc) or "malformed" in str(exc):
                self._move_aside(exc)
                return self._connect()
            raise
        return connection

    def _move_aside(self, reason: Exception) -> None:
        stamp = datetime.now(timezone.utc).strftime("%Y%m%dT%H%M%SZ")
        aside = self.path.with_name(f"{self.path.name}.corrupt-{stamp}")
        os.replace(self.path, aside)
        for suffix in ("-wal", "-shm"):
            try:
                os.unlink(f"{self.path}{suffix}")
            except OSError:
                pass
        log.debug("stage history %s unreadable (%s); kept it as %s", self.path, reason, aside.name)

    @property
    def marker_path(self) -> Path:
        """A small file saying how far the history has the status log; compaction reads it so the
        status file's ring never drops events the history does not have yet."""
        return self.path.with_name(self.path.name + ".synced")

    def mark_synced(self, log_id: str, seq: int) -> None:
        record = json.dumps({"log_id": log_id, "seq": seq}).encode()
        write_bytes_atomic(self.marker_path, record, durable=False)

    def last_seq(self, log_id: str) -> int:
        with _closing(self._connect()) as db:
            row = db.execute("SELECT MAX(seq) FROM stage_events WHERE log_id = ?", (log_id,)).fetchone()
        return int(row[0] or 0)

    def add(self, log_id: str, events: Iterable[dict[str, Any]]) -> int:
        """Insert events (idempotent); returns how many were new."""
        rows = [_row(log_id, event) for event in events]
        if not rows:
            return 0
        with _closing(self._connect()) as db:
            before = db.total_changes
            db.execute("BEGIN IMMEDIATE")
            db.executemany(
                f"INSERT OR IGNORE INTO stage_events ({', '.join(_COLUMNS)}) "
                f"VALUES ({', '.join('?' * len(_COLUMNS))})",
                rows,
            )
            db.execute("COMMIT")
            return db.total_changes - before

    def events(
        self,
        *,
        username: str | None = None,
        source: str | None = None,
        since: float | None = None,
        limit: int = 1000,
    ) -> list[dict[str, Any]]:
        """Stored events, oldest first, optionally filtered."""
        clauses: list[str] = []
        params: list[str | float] = []
        for column, value in (("username", username), ("source", source)):
            if value is not None:
                clauses.append(f"{column} = ?")
                params.append(value)
        if since is not None:
            clauses.append("timestamp >= ?")
            params.append(since)
        where = f"WHERE {' AND '.join(clauses)}" if clauses else ""
        with _closing(self._connect()) as db:
            cursor = db.execute(
                f"SELECT {', '.join(_COLUMNS)} FROM stage_events {where} "
                "ORDER BY timestamp DESC, seq DESC LIMIT ?",
                (*params, limit),
            )
            rows = cursor.fetchall()
        return [_event(row) for row in reversed(rows)]

    def events_between(self, log_id: str, after_seq: int, before_seq: int) -> list[dict[str, Any]]:
        """Events of status log `log_id` with after_seq < seq < before_seq, in seq order: what a
        reader finds missing from the status file's ring."""
        with _closing(self._connect()) as db:
            rows = db.execute(
                f"SELECT {', '.join(_COLUMNS)} FROM stage_events WHERE log_id = ? AND seq > ? AND seq < ? "
                "ORDER BY seq",
                (log_id, after_seq, before_seq),
            ).fetchall()
        return [_event(row) for row in rows]

    def durations(self, stage_number: int | None = None) -> dict[str, dict[str, float]]:
        """Per stage name: count, mean and max seconds of completed stages."""
        query = (
            "SELECT stage_name, COUNT(*), AVG(duration_s), MAX(duration_s) FROM stage_events "
            "WHERE status = 'completed' AND duration_s IS NOT NULL"
        )
        params: tuple[Any, ...] = ()
        if stage_number is not None:
            query += " AND stage_number = ?"
            params = (str(stage_number),)
        with _closing(self._connect()) as db:
            rows = db.execute(query + " GROUP BY stage_name", params).fetchall()
        return {name: {"count": n, "mean_s": mean, "max_s": top} for name, n, mean, top in rows}


class _closing:
    def __init__(self, connection: sqlite3.Connection) -> None:
        self.connection = connection

    def __enter__(self) -> sqlite3.Connection:
        return self.connection

    def __exit__(self, *exc: object) -> None:
        self.connection.close()


def _row(log_id: str, event: dict[str, Any]) -> tuple[Any, ...]:
    details = event.get("details")
    return (
        log_id,
        int(event["seq"]),
        float(event.get("timestamp", 0.0)),
        str(event.get("source", "")),
        event.get("pid"),
        str(event.get("stage_number", "")),
        str(event.get("stage_name", "")),
        str(event.get("status", "")),
        str(event.get("message", "")),
        str(event.get("username", "")),
        None if details is None else json.dumps(details, ensure_ascii=False),
        event.get("duration_s"),
    )


def _event(row: tuple[Any, ...]) -> dict[str, Any]:
    event = dict(zip(_COLUMNS, row, strict=True))
    number = event["stage_number"]
    event["stage_number"] = int(number) if str(number).lstrip("-").isdigit() else number
    if event["details"] is not None:
        event["details"] = json.loads(event["details"])
    return event


def synced_seq(marker: Path, log_id: str) -> int:
    """How far the history has log `log_id` (0 when unknown): cheap, for the compaction path."""
    try:
        record = json.loads(marker.read_bytes())
    except (OSError, ValueError):
        return 0
    if isinstance(record, dict) and record.get("log_id") == log_id and isinstance(record.get("seq"), int):
        return record["seq"]
    return 0
