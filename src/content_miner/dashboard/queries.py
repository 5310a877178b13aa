"""The dashboard's questions to the stage log: every one bounded, whatever the log's size.

Each function takes an open read-only connection (`DashboardSources.read_log` gives one) and uses
an index: `seq` (the primary key) for the tail and the event pages, `(username, seq)` for one
account, `(source, stage_number, ts)` for the plans. Pages are capped (`MAX_PAGE`), and a filtered
page of events looks at no more than `SCAN_ROWS` rows: when the filter is rare it says how far back
it looked, and the next page goes on from there.
"""

from __future__ import annotations

import sqlite3
from dataclasses import dataclass
from typing import Any

from content_miner.tracker.stage_log import COLUMNS, current_where, event, last_seq, meta
from content_miner.tracker.stage_log import events_after as stage_log_events_after
from content_miner.tracker.stages import COMPLETED, RUNNING

MAX_PAGE = 200
SCAN_ROWS = 20_000  # rows a filtered page of events reads at most
ACCOUNT_EVENTS = 3_000  # an account's most recent events its page is built from
MESSAGE_CHARS = 300  # a message as a page shows it


def short(text: object, limit: int = MESSAGE_CHARS) -> str:
    value = str(text)
    return value if len(value) <= limit else value[: limit - 1] + "…"


def flag_of(details: Any) -> str | None:
    """What an event's details say about how it ended: crashed, interrupted, idle (or nothing)."""
    if not isinstance(details, dict):
        return None
    if details.get("interrupted") is True:
        return "interrupted"
    if details.get("crashed") is True:
        return "crashed"
    if details.get("idle") is True:
        return "idle"
    return None


def shown_event(found: dict[str, Any]) -> dict[str, Any]:
    """An event as the pages use it: its message cut, its details reduced to a flag."""
    return {"seq": found["seq"], "ts": found["timestamp"], "source": found["source"], "username": found["username"],
            "stage_number": found["stage_number"], "stage_name": found["stage_name"], "status": found["status"],
            "message": short(found["message"]), "duration_s": found["duration_s"], "flag": flag_of(found["details"])}


@dataclass(frozen=True)
class LogEnd:
    log_id: str | None
    last_seq: int
    reset_seq: int


def log_end(db: sqlite3.Connection) -> LogEnd:
    info = meta(db)
    return LogEnd(info.get("log_id"), last_seq(db), int(info.get("reset_seq") or 0))


def events_after(db: sqlite3.Connection, after_seq: int, limit: int) -> list[dict[str, Any]]:
    return [shown_event(found) for found in stage_log_events_after(db, after_seq, limit)]


def latest_events(db: sqlite3.Connection, limit: int) -> list[dict[str, Any]]:
    """The newest `limit` events, oldest first."""
    rows = db.execute(f"SELECT {COLUMNS} FROM events ORDER BY seq DESC LIMIT ?", (limit,)).fetchall()
    return [shown_event(event(row)) for row in reversed(rows)]


def current_entries(db: sqlite3.Connection, *, changed_since: tuple[int, float] | None = None
                    ) -> dict[str, dict[str, dict[str, Any]]]:
    """`{source: {username: entry}}` as `read_status()["current"]` has them: every one, or (with
    `changed_since=(seq, time)`) every entry of the accounts with a transition after that seq, a
    running stage, or progress after that time. The table has one row per source and account."""
    if changed_since is None:
        return current_where(db)
    changed = "username IN (SELECT username FROM current WHERE seq > ? OR status = ? OR progress_at > ?)"
    return current_where(db, changed, (changed_since[0], RUNNING, changed_since[1]))


def last_completions(db: sqlite3.Connection, source: str, stage_number: int) -> dict[str, float]:
    """Per account, when `source` last completed `stage_number` (the pipeline's last stage: its last
    plan), by the (source, stage_number, ts) index."""
    rows = db.execute("SELECT username, MAX(ts) FROM events WHERE source = ? AND stage_number = ? AND status = ? "
                      "AND username != '' GROUP BY username", (source, stage_number, COMPLETED))
    return {str(user): float(ts) for user, ts in rows}


@dataclass(frozen=True)
class EventFilter:
    source: str | None = None
    username: str | None = None
    status: str | None = None


@dataclass(frozen=True)
class EventPage:
    events: list[dict[str, Any]]  # newest first
    next_before: int | None  # the `before` of the next (older) page; None at the log's start
    looked_back_to: int  # the oldest seq this page looked at (a rare filter: how far it got)


def events_page(db: sqlite3.Connection, before: int | None, limit: int, wanted: EventFilter,
                scan_rows: int = SCAN_ROWS) -> EventPage:
    """Events older than `before` (the newest without it), newest first, that match `wanted`."""
    limit = max(1, min(MAX_PAGE, limit))
    top = (last_seq(db) + 1) if before is None else before
    clauses: list[str] = ["seq < ?"]
    params: list[object] = [top]
    if wanted.username is not None:  # by the (username, seq) index: no bound on the rows needed
        clauses.append("username = ?")
        params.append(wanted.username)
        low = 0
    else:
        low = max(0, top - scan_rows)
        clauses.append("seq >= ?")
        params.append(low)
    if wanted.source is not None:
        clauses.append("source = ?")
        params.append(wanted.source)
    if wanted.status is not None:
        clauses.append("status = ?")
        params.append(wanted.status)
    rows = db.execute(f"SELECT {COLUMNS} FROM events WHERE {' AND '.join(clauses)} ORDER BY seq DESC LIMIT ?",
                      (*params, limit)).fetchall()
    found = [shown_event(event(row)) for row in rows]
    if len(found) == limit:
        oldest = found[-1]["seq"]
        return EventPage(found, oldest, oldest)
    first = db.execute("SELECT MIN(seq) FROM events").fetchone()[0]
    if low <= (first or 0):
        return EventPage(found, None, low)
    return EventPage(found, low, low)


def account_events(db: sqlite3.Connection, username: str, limit: int = ACCOUNT_EVENTS) -> list[dict[str, Any]]:
    """The account's most recent `limit` events, oldest first."""
    rows = db.execute(f"SELECT {COLUMNS} FROM events WHERE username = ? ORDER BY seq DESC LIMIT ?",
                      (username, limit)).fetchall()
    return [shown_event(event(row)) for row in reversed(rows)]


def running_stages(db: sqlite3.Connection, username: str) -> set[tuple[str, int | None]]:
    """The (source, stage) the account is running now."""
    rows = db.execute("SELECT source, stage_number FROM current WHERE username = ? AND status = ?", (username, RUNNING))
    return {(str(source), number if isinstance(number, int) else None) for source, number in rows}


def account_exists(db: sqlite3.Connection, username: str) -> bool:
    return db.execute("SELECT 1 FROM current WHERE username = ? LIMIT 1", (username,)).fetchone() is not None \
        or db.execute("SELECT 1 FROM events WHERE username = ? LIMIT 1", (username,)).fetchone() is not None
