"""The operator's status table: one row per source and account, from the live state."""

from __future__ import annotations

import time
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any

from .definitions import DEFAULTS, StageDefinitions
from .live import LiveStage, StageStats, StallRules, live_stage, short_duration


@dataclass(frozen=True)
class StatusRow:
    source: str
    account: str
    stage: str
    status: str  # the state: running, stalled, idle, completed, failed
    message: str
    since: float | None
    last_duration_s: float | None
    pid: int | None
    live: LiveStage | None = None


def status_rows(current: dict[str, Any], stats: dict[tuple[str, int], StageStats] | None = None,
                definitions: StageDefinitions = DEFAULTS, now: float | None = None,
                rules: StallRules | None = None) -> list[StatusRow]:
    rows = []
    when = time.time() if now is None else now
    for source, accounts in sorted(current.items()):
        if not isinstance(accounts, dict):
            continue
        for account, entry in accounts.items():
            if not isinstance(entry, dict):
                continue
            live = live_stage(source, account, entry, definitions=definitions, stats=stats or {}, now=when,
                              rules=rules or StallRules())
            rows.append(
                StatusRow(
                    source=source,
                    account=account or "-",
                    stage=f"{entry.get('stage_number')} {entry.get('stage_name', '')}".strip(),
                    status=live.state or str(entry.get("status", "")),
                    message=str(entry.get("message", "")),
                    since=entry.get("since"),
                    last_duration_s=entry.get("last_duration_s"),
                    pid=entry.get("pid"),
                    live=live,
                )
            )
    rows.sort(key=lambda row: (row.source, -(row.since or 0)))
    return rows


def progress_bar(live: LiveStage | None, width: int = 10) -> str:
    """`████░░░░░░ 40% 120/300`, or `-` without progress."""
    if live is None or live.fraction is None:
        return "-"
    filled = round(live.fraction * width)
    return f"{'█' * filled}{'░' * (width - filled)} {live.fraction:.0%} {live.progress_done}/{live.progress_total}"


def eta_text(live: LiveStage | None) -> str:
    """`1m 20s (90%: 2m 05s)` for the stage; `, plan ~4m` for the account's whole pipeline."""
    if live is None or live.eta_s is None or live.state not in ("running", "stalled"):
        return "-"
    text = short_duration(live.eta_s)
    if live.eta_p90_s is not None and live.eta_p90_s > live.eta_s:
        text += f" (90%: {short_duration(live.eta_p90_s)})"
    if live.pipeline_eta_s is not None and live.username:
        text += f", plan ~{short_duration(live.pipeline_eta_s)}"
    return text


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
