"""When a module's process ends, close the stages it left running, on its behalf.

A module killed in the middle of Stage 3 cannot report its own failure, so without this the account
would show "running" forever. The supervisor writes a `failed` event as the module's source (with
the dead process's pid) for every stage the module still had running. At start-up the miner does
the same for stages whose writer died with an earlier miner (SIGKILL, power loss).
"""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Protocol

from content_miner.tracker.stages import FAILED, RUNNING, stage_name

INTERRUPTED = "interrupted: the miner stopped while this stage was running"


class StageRecorder(Protocol):
    def read_status(self) -> dict[str, Any]: ...
    def record(self, status: str, stage_number: int, message: str, username: str = "", details: Any = None,
               *, source: str | None = None, pid: int | None = None) -> None: ...


@dataclass(frozen=True)
class OpenStage:
    stage_number: int
    stage_name: str
    username: str
    pid: int | None = None  # the process that started it

    def label(self) -> str:
        who = f" for {self.username}" if self.username else ""
        return f"Stage {self.stage_number} - {self.stage_name}{who}"


def open_stages(tracker: StageRecorder, source: str) -> list[OpenStage]:
    """The stages `source` has running now, accounts first, oldest first."""
    entries = tracker.read_status().get("current", {}).get(source, {})
    found = [
        (entry.get("since") or "",
         OpenStage(int(entry["stage_number"]), entry.get("stage_name") or stage_name(entry["stage_number"]), username,
                   entry.get("pid") if isinstance(entry.get("pid"), int) else None))
        for username, entry in entries.items()
        if entry.get("status") == RUNNING and isinstance(entry.get("stage_number"), int)
    ]
    found.sort(key=lambda item: (item[1].username == "", item[0]))
    return [stage for _, stage in found]


def close_open_stages(tracker: StageRecorder, source: str, label: str, reason: str, *, pid: int | None,
                      exit_code: int | None, crashed: bool, message: str | None = None,
                      by: str = "miner supervisor", only: Callable[[OpenStage], bool] | None = None,
                      interrupted: Callable[[OpenStage], bool] | bool = False) -> list[OpenStage]:
    """Mark every running stage of `source` (those `only` accepts) failed; returns what was closed.

    The message is "<label> crashed (<reason>)" or "<label> was stopped (<reason>)" unless given.
    `pid` None: each stage's own writer's pid. A stage `interrupted` accepts (a planned stop, an idle
    wait) is marked so: the operator's line is then a warning, not a failure at error level.
    """
    stages = [stage for stage in open_stages(tracker, source) if only is None or only(stage)]
    text = message or f"{label} {'crashed' if crashed else 'was stopped'} ({reason})"
    for stage in stages:
        planned = interrupted(stage) if callable(interrupted) else interrupted
        tracker.record(FAILED, stage.stage_number, text, stage.username,
                       {"exit_code": exit_code, "crashed": crashed, "by": by, "interrupted": planned},
                       source=source, pid=stage.pid if pid is None else pid)
    return stages


def is_idle(stage: OpenStage) -> bool:
    """A module's own Stage 0 (start-up or waiting for accounts): no account's work is lost with it."""
    return stage.stage_number == 0 and not stage.username


def writer_is_gone(stage: OpenStage) -> bool:
    """The process that started `stage` no longer exists (our own pid is a reused one)."""
    if stage.pid is None or stage.pid <= 0 or stage.pid == os.getpid():  # 0 or less: a process group
        return True
    try:
        os.kill(stage.pid, 0)
    except ProcessLookupError:
        return True
    except PermissionError:
        return False  # it exists, as another user's process
    return False


def close_interrupted_stages(tracker: StageRecorder, source: str, label: str) -> list[OpenStage]:
    """At start-up, before the modules run: close `source`'s stages whose writer is dead."""
    return close_open_stages(tracker, source, label, "", pid=None, exit_code=None, crashed=True,
                             message=INTERRUPTED, by="miner start-up", only=writer_is_gone, interrupted=is_idle)
