"""The operator's status table: one row per source and account, from the live state."""

from __future__ import annotations

import time
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any


@dataclass(frozen=True)
class StatusRow:
    source: str
    account: str
    stage: str
    status: str
    message: str
    since: float | None
    last_duration_s: float | None
    pid: int | None


def status_rows(current: dict[str, Any]) -> list[StatusRow]:
    rows = []
    for source, accounts in sorted(current.items()):
        if not isinstance(accounts, dict):
            continue
        for account, entry in accounts.items():
            if not isinstance(entry, dict):
                continue
            rows.append(
                StatusRow(
                    source=source,
                    account=account or "-",
                    stage=f"{entry.get('stage_number')} {entry.get('stage_name', '')}".strip(),
                    status=str(entry.get("status", "")),
                    message=str(entry.get("message", "")),
                    since=entry.get("since"),
                    last_duration_s=entry.get("last_duration_s"),
                    pid=entry.get("pid"),
                )
            )
    rows.sort(key=lambda row: (row.source, -(row.since or 0)))
    return rows


def age(timestamp: float | None, now: float | None = None) -> str:
    """`12s ago`, `5m ago`, `3h ago`, `2d ago`."""
    if timestamp is None:
        return "-"
    seconds = max(0.0, (time.time() if now is None else now) - timestamp)
    for unit, size in (("d", 86400), ("h", 3600), ("m", 60)):
        if seconds >= size:
            return f"{int(seconds // size)}{unit} ago"
    return f"{int(seconds)}s ago"


def clock(timestamp: float | None) -> str:
    if timestamp is None:
        return "-"
    return datetime.fromtimestamp(timestamp, timezone.utc).strftime("%Y-%m-%d %H:%M:%S UTC")


def duration(seconds: float | None) -> str:
    if seconds is None:
        return "-"
    if seconds < 1:
        return f"{seconds * 1000:.0f} ms"
    if seconds < 120:
        return f"{seconds:.1f} s"
    return f"{seconds / 60:.1f} min"
