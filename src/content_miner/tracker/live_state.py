"""What every source and account is doing now: the header part of the status file.

`current[source][username]` is the latest transition of that account in that source, with when it
happened (`since`), when its stage started and how long the last finished stage took.
`open["source\\u001fusername\\u001fstage"]` holds the start time of each running stage, so a
completion or failure gets `duration_s` measured from its own start, whichever process wrote it.
"""

from __future__ import annotations

from typing import Any

from .stages import COMPLETED, FAILED, RUNNING

MAX_ACCOUNTS_PER_SOURCE = 500
MAX_OPEN_STAGES = 2000
_SEP = "\u001f"


def open_key(source: str, username: str, stage_number: object) -> str:
    return f"{source}{_SEP}{username}{_SEP}{stage_number}"


def apply_event(header: dict[str, Any], event: dict[str, Any]) -> None:
    """Number `event`, give it its duration, and fold it into the header's live state."""
    seq = int(header.get("last_seq", 0)) + 1
    header["last_seq"] = seq
    event["seq"] = seq
    source, username, status = event["source"], event["username"], event["status"]
    key = open_key(source, username, event["stage_number"])
    open_stages: dict[str, Any] = header["open"]
    started_at = None
    if status == RUNNING:
        open_stages.pop(key, None)  # a restarted stage starts its clock again
        open_stages[key] = event["timestamp"]
        started_at = event["timestamp"]
        if len(open_stages) > MAX_OPEN_STAGES:
            del open_stages[next(iter(open_stages))]  # oldest first: dicts keep insertion order
    elif status in (COMPLETED, FAILED):
        started_at = open_stages.pop(key, None)
        if isinstance(started_at, (int, float)):
            event["duration_s"] = round(max(0.0, event["timestamp"] - started_at), 6)
        else:
            event["duration_s"] = None  # no matching start (or it was written before a reset)
    accounts = header["current"].setdefault(source, {})
    previous = accounts.pop(username, None) or {}
    entry = {
        "stage_number": event["stage_number"],
        "stage_name": event["stage_name"],
        "status": status,
        "message": event["message"],
        "since": event["timestamp"],
        "started_at": started_at,
        "duration_s": event.get("duration_s"),
        "last_duration_s": event.get("duration_s", previous.get("last_duration_s")),
        "pid": event["pid"],
        "seq": seq,
    }
    accounts[username] = entry  # re-inserted last, so the oldest account is first
    if len(accounts) > MAX_ACCOUNTS_PER_SOURCE:
        del accounts[next(iter(accounts))]


def latest_entry(
    current: dict[str, Any], source: str | None = None, username: str | None = None
) -> dict[str, Any] | None:
    """The most recent live entry, optionally for one source and/or account."""
    best: dict[str, Any] | None = None
    for entry_source, accounts in current.items():
        if source is not None and entry_source != source or not isinstance(accounts, dict):
            continue
        for entry_user, entry in accounts.items():
            if username is not None and entry_user != username or not isinstance(entry, dict):
                continue
            if best is None or entry.get("seq", 0) > best.get("seq", 0):
                best = {**entry, "source": entry_source, "username": entry_user}
    return best
