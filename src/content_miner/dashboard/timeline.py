"""One account's history as runs of stages, for its Gantt chart: pure functions over its events.

A run starts with the account's first event, and again whenever a source starts a stage it has
already started in the current run, or one before it (Module 1 taking the account again from Stage 1;
Module 2 rendering its images again). Module 2's stages after a plan belong to that plan's run.
Within a run, each stage's start is paired with its end (completed or failed) from the same source:
a bar. A start without an end is `running` when it is the account's current stage, else `open`
(its end is not in the log: pruned, or the module died before the supervisor could close it).
An end without a start (Stage 7 `Complete`, a stage closed for a dead module) is a bar of no length.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

from content_miner.tracker.stages import COMPLETED, FAILED, RUNNING

MAX_RUNS = 20


@dataclass
class StageBar:
    source: str
    stage_number: int | None
    stage_name: str
    status: str  # running, completed, failed, open
    start: float
    end: float | None  # None while running or open
    duration_s: float | None
    message: str
    flag: str | None  # crashed, interrupted


@dataclass
class Run:
    start: float
    end: float
    status: str  # completed (its last stage ended well), failed, running, open
    bars: list[StageBar] = field(default_factory=list)


def runs_of(events: list[dict[str, Any]], *, running_now: set[tuple[str, int | None]] | None = None,
            limit: int = MAX_RUNS) -> list[Run]:
    """The runs in `events` (one account's, oldest first), newest run first, at most `limit`.
    `running_now`: the (source, stage) the account is running now (the tracker's current state)."""
    runs: list[Run] = []
    started: dict[str, int] = {}  # per source: the highest stage started in the current run
    open_bars: dict[tuple[str, int | None], StageBar] = {}
    for found in events:
        if found["username"] == "" or found["status"] not in (RUNNING, COMPLETED, FAILED):
            continue
        source, number, status, ts = found["source"], found["stage_number"], found["status"], float(found["ts"])
        number = number if isinstance(number, int) else None
        if status == RUNNING:
            again = number is not None and source in started and number <= started[source]
            if not runs or again:
                runs.append(Run(ts, ts, RUNNING))
                started, open_bars = {}, {}
            if number is not None:
                started[source] = max(started.get(source, -1), number)
            opened = StageBar(source, number, found["stage_name"], RUNNING, ts, None, None, found["message"], None)
            runs[-1].bars.append(opened)
            open_bars[(source, number)] = opened
        else:
            if not runs:
                runs.append(Run(ts, ts, RUNNING))
            bar: StageBar | None = open_bars.pop((source, number), None)
            if bar is None:  # an end without its start
                bar = StageBar(source, number, found["stage_name"], status, ts, ts, found["duration_s"],
                               found["message"], found.get("flag"))
                runs[-1].bars.append(bar)
            bar.status, bar.end, bar.message, bar.flag = status, ts, found["message"], found.get("flag")
            bar.duration_s = found["duration_s"] if found["duration_s"] is not None else max(0.0, ts - bar.start)
        runs[-1].end = max(runs[-1].end, ts)
    current = running_now or set()
    for index, run in enumerate(runs):
        latest = index == len(runs) - 1
        for bar in run.bars:
            if bar.status == RUNNING and not (latest and (bar.source, bar.stage_number) in current):
                bar.status = "open"
        run.status = _run_status(run)
    return list(reversed(runs))[:limit]


def _run_status(run: Run) -> str:
    statuses = [bar.status for bar in run.bars]
    if RUNNING in statuses:
        return RUNNING
    if FAILED in statuses:
        return FAILED
    if "open" in statuses:
        return "open"
    return COMPLETED


def runs_json(runs: list[Run]) -> list[dict[str, Any]]:
    return [asdict(run) for run in runs]


def failures_of(events: list[dict[str, Any]], limit: int = 50) -> list[dict[str, Any]]:
    """The account's failed stages, newest first (a planned interruption is not a failure)."""
    found = [e for e in events if e["status"] == FAILED and e.get("flag") != "interrupted" and e["username"]]
    return list(reversed(found))[:limit]
