"""Read-only questions about the stage tracker's live state, for the axon and the status line."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from content_miner.tracker import MinerStageTracker
from content_miner.tracker.live import LiveStage, StallRules
from content_miner.tracker.stages import RUNNING

EVENTS_LIMIT_MAX = 200
PAGE_MAX = 200


@dataclass(frozen=True)
class StagePage:
    current: list[dict[str, Any]]
    events: list[dict[str, Any]]
    next_cursor: str | None
    total: int


LIVE_FIELDS = ("state", "progress_done", "progress_total", "eta_s", "eta_p90_s", "pipeline_eta_s",
               "pipeline_eta_p90_s")


class StageView:
    def __init__(self, tracker: MinerStageTracker, rules: StallRules | None = None) -> None:
        self.tracker = tracker
        self.rules = rules or StallRules()

    def _entry(self, source: str, username: str) -> dict[str, Any] | None:
        entries = self.tracker.read_status()["current"].get(source, {})
        matches = [entry | {"username": name, "source": source} for name, entry in entries.items()
                   if name == username]
        if not matches:
            return None
        entry = max(matches, key=lambda item: parse_timestamp(item.get("since")))
        return entry | {"since_ts": parse_timestamp(entry.get("since"))}

    def latest_stage(self, source: str, username: str) -> dict[str, Any] | None:
        return self._entry(source, username)

    def running_stage(self, source: str, username: str) -> dict[str, Any] | None:
        entry = self._entry(source, username)
        return entry if entry is not None and entry.get("status") == RUNNING else None

    def snapshot(self, username: str = "", events_limit: int = 20, *, limit: int = PAGE_MAX,
                 cursor: str = "") -> StagePage:
        """One page of current entries (sorted by source, then account; `username` "" for all, else
        one normalised account key's username) and the most recent events."""
        status = self.tracker.read_status()
        current = sorted(
            (entry | {"source": source, "username": name}
             for source, entries in status["current"].items() for name, entry in entries.items()
             if not username or name == username),
            key=lambda entry: (entry["source"], entry["username"]))
        after = [entry for entry in current if f"{entry['source']}/{entry['username']}" > cursor] if cursor else current
        size = max(1, min(PAGE_MAX, int(limit)))
        page = after[:size]
        next_cursor = f"{page[-1]['source']}/{page[-1]['username']}" if len(after) > size else None
        # What the page's entries mean now (state, progress, ETA): for this page only, whatever the total.
        shown: dict[str, dict[str, Any]] = {}
        for entry in page:
            source, name = entry["source"], entry["username"]
            shown.setdefault(source, {})[name] = status["current"][source][name]
        live = {(stage.source, stage.username): stage
                for stage in self.tracker.live(rules=self.rules, status={**status, "current": shown})}
        page = [entry | _live_fields(live.get((entry["source"], entry["username"]))) for entry in page]
        wanted = max(0, min(EVENTS_LIMIT_MAX, int(events_limit)))
        events: list[dict[str, Any]] = []
        if wanted:
            start = max(0, int(status.get("last_seq") or 0) - (wanted if not username else 1000))
            events = [event for event in self.tracker.read_events(start)
                      if not username or str(event.get("username", "")) == username][-wanted:]
        return StagePage(page, events, next_cursor, len(current))


def _live_fields(stage: LiveStage | None) -> dict[str, Any]:
    return {} if stage is None else {name: getattr(stage, name) for name in LIVE_FIELDS}


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
