"""Read-only questions about the stage tracker's live state, for the axon and the status line."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from miner_stage_tracker import MinerStageTracker
from stage_tracking.stages import RUNNING

EVENTS_LIMIT_MAX = 200


class StageView:
    def __init__(self, tracker: MinerStageTracker) -> None:
        self.tracker = tracker

    def _entry(self, source: str, username: str) -> dict[str, Any] | None:
        entries = self.tracker.read_status()["current"].get(source, {})
        wanted = username.lower()
        matches = [entry | {"username": name, "source": source} for name, entry in entries.items()
                   if name.lower() == wanted]
        if not matches:
            return None
        entry = max(matches, key=lambda item: parse_timestamp(item.get("since")))
        return entry | {"since_ts": parse_timestamp(entry.get("since"))}

    def latest_stage(self, source: str, username: str) -> dict[str, Any] | None:
        return self._entry(source, username)

    def running_stage(self, source: str, username: str) -> dict[str, Any] | None:
        entry = self._entry(source, username)
        return entry if entry is not None and entry.get("status") == RUNNING else None

    def snapshot(self, username: str = "", events_limit: int = 20) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
        """(current entries, most recent events), optionally of one account (any case)."""
        status = self.tracker.read_status()
        wanted = username.lower()
        current = [entry | {"source": source, "username": name}
                   for source, entries in status["current"].items() for name, entry in entries.items()
                   if not wanted or name.lower() == wanted]
        limit = max(0, min(EVENTS_LIMIT_MAX, int(events_limit)))
        events: list[dict[str, Any]] = []
        if limit:
            after = max(0, int(status.get("last_seq") or 0) - (limit if not wanted else 1000))
            events = [event for event in self.tracker.read_events(after)
                      if not wanted or str(event.get("username", "")).lower() == wanted][-limit:]
        return current, events


def parse_timestamp(value: Any) -> float:
    """An ISO-8601 time (the tracker's `since`, a plan's `generated_at`) as epoch seconds; 0 if unusable."""
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return float(value)
    if not isinstance(value, str):
        return 0.0
    try:
        return datetime.fromisoformat(value.replace("Z", "+00:00")).timestamp()
    except ValueError:
        return 0.0
