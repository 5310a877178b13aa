"""Questions over the whole stage log (it is the history: no copy), for durations and analytics."""

from __future__ import annotations

import sqlite3
from typing import TYPE_CHECKING, Any

from .stage_log import COLUMNS, event

if TYPE_CHECKING:
    from .writer import LogWriter


class StageHistory:
    def __init__(self, writer: LogWriter) -> None:
        self._writer = writer

    def events(self, *, username: str | None = None, source: str | None = None, since: float | None = None,
               limit: int = 1000) -> list[dict[str, Any]]:
        """The last `limit` events (by seq), optionally filtered, oldest first; `since`: wall-clock time."""

        def query(db: sqlite3.Connection) -> list[dict[str, Any]]:
            rows = db.execute(
                f"SELECT {COLUMNS} FROM events WHERE (:user IS NULL OR username = :user) "
                "AND (:source IS NULL OR source = :source) AND (:since IS NULL OR ts >= :since) "
                "ORDER BY seq DESC LIMIT :limit",
                {"user": username, "source": source, "since": since, "limit": limit}).fetchall()
            return [event(row) for row in reversed(rows)]

        return self._writer.read(query, [])

    def durations(self, stage_number: int | None = None) -> dict[str, dict[str, float]]:
        """Per stage name: count, mean and max seconds of completed stages."""

        def query(db: sqlite3.Connection) -> dict[str, dict[str, float]]:
            rows = db.execute(
                "SELECT stage_name, COUNT(*), AVG(duration_s), MAX(duration_s) FROM events "
                "WHERE status = 'completed' AND duration_s IS NOT NULL AND (? IS NULL OR stage_number = ?) "
                "GROUP BY stage_name", (stage_number, stage_number)).fetchall()
            return {name: {"count": n, "mean_s": mean, "max_s": top} for name, n, mean, top in rows}

        return self._writer.read(query, {})
