"""When a module's process ends, close the stages it left running, on its behalf.

A module killed in the middle of Stage 3 cannot report its own failure, so without this the account
would show "running" forever. The supervisor writes a `failed` event as the module's source (with
the dead process's pid) for every stage the module still had running.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Protocol

from stage_tracking.stages import FAILED, RUNNING, stage_name


class StageRecorder(Protocol):
    def read_status(self) -> dict[str, Any]: ...
    def record(self, status: str, stage_number: int, message: str, username: str = "", details: Any = None,
               *, source: str | None = None, pid: int | None = None) -> None: ...


@dataclass(frozen=True)
class OpenStage:
    stage_number: int
    stage_name: str
    username: str

    def label(self) -> str:
        who = f" for {self.username}" if self.username else ""
        return f"Stage {self.stage_number} - {self.stage_name}{who}"


def open_stages(tracker: StageRecorder, source: str) -> list[OpenStage]:
    """The stages `source` has running now, accounts first, oldest first."""
    entries = tracker.read_status().get("current", {}).get(source, {})
    found = [
        (entry.get("since") or "", OpenStage(int(entry["stage_number"]), entry.get("stage_name") or stage_name(entry["stage_number"]), username))
        for username, entry in entries.items()
        if entry.get("status") == RUNNING and isinstance(entry.get("stage_number"), int)
    ]
    found.sort(key=lambda item: (item[1].username == "", item[0]))
    return [stage for _, stage in found]


def close_open_stages(tracker: StageRecorder, source: str, label: str, reason: str, *, pid: int | None,
                      exit_code: int | None, crashed: bool) -> list[OpenStage]:
    """Mark every running stage of `source` failed; returns what was closed."""
    stages = open_stages(tracker, source)
    what = "crashed" if crashed else "was stopped"
    for stage in stages:
        tracker.record(FAILED, stage.stage_number, f"{label} {what} ({reason})", stage.username,
                       {"exit_code": exit_code, "crashed": crashed, "by": "miner supervisor"},
                       source=source, pid=pid)
    return stages
