"""The accounts table: one row per account from the tracker's live view of its current stages.

An account may have a current entry per source (Module 1's pipeline, Module 2's images). Its row
shows the pipeline's entry when it has one (else its latest), with the pipeline's progress as a bar:
the stages done of the source's stages, plus the running stage's own progress. `stalled` and
`crashed` are set when any of its sources is in that state.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from content_miner.tracker.definitions import StageDefinitions
from content_miner.tracker.live import LiveStage

SORT_KEYS = ("username", "stage", "state", "since", "eta", "last_plan")
STATE_ORDER = {"crashed": 0, "stalled": 1, "failed": 2, "running": 3, "idle": 4, "completed": 5}


def pipeline_fraction(stage: LiveStage, definitions: StageDefinitions) -> float | None:
    """How far the account is through its source's stages (Stage 0 is not one of them), 0-1."""
    numbers = sorted(number for number in definitions.source(stage.source).stages if number > 0)
    if stage.stage_number is None or not numbers:
        return None
    done = sum(1 for number in numbers if number < stage.stage_number)
    if stage.state == "completed" and stage.stage_number in numbers:
        done += 1
    elif stage.state in ("running", "stalled") and stage.fraction is not None:
        return (done + stage.fraction) / len(numbers)
    return min(1.0, done / len(numbers))


def _source_view(stage: LiveStage, since: Any, definitions: StageDefinitions) -> dict[str, Any]:
    return {"source": stage.source, "stage_number": stage.stage_number, "stage_name": stage.stage_name,
            "status": stage.status, "state": stage.state, "since": since, "elapsed_s": stage.elapsed_s,
            "stage_fraction": stage.fraction, "progress": [stage.progress_done, stage.progress_total]
            if stage.progress_total else None, "eta_s": stage.eta_s, "pipeline_eta_s": stage.pipeline_eta_s,
            "pipeline_eta_p90_s": stage.pipeline_eta_p90_s, "fraction": pipeline_fraction(stage, definitions)}


def account_rows(stages: Iterable[LiveStage], current: dict[str, dict[str, dict[str, Any]]],
                 definitions: StageDefinitions, last_plans: dict[str, float]) -> dict[str, dict[str, Any]]:
    """username -> row, for the accounts among `stages` (a module's own entry, without an account,
    is not one)."""
    by_account: dict[str, list[tuple[int, LiveStage]]] = {}
    for stage in stages:
        if stage.username:
            entry = current.get(stage.source, {}).get(stage.username, {})
            by_account.setdefault(stage.username, []).append((int(entry.get("seq") or 0), stage))
    pipeline = [name for name, source in definitions.sources.items() if source.pipeline]
    rows = {}
    for username, found in by_account.items():
        found.sort(key=lambda item: item[0])
        main = next((stage for _, stage in found if stage.source in pipeline), found[-1][1])
        views = {stage.source: _source_view(stage, current[stage.source][username].get("since"), definitions)
                 for _, stage in found}
        states = {stage.state for _, stage in found}
        rows[username] = {
            "username": username, **views[main.source], "seq": found[-1][0],
            "stalled": "stalled" in states, "crashed": "crashed" in states,
            "last_plan_at": last_plans.get(username), "sources": views,
        }
    return rows


def sort_rows(rows: list[dict[str, Any]], key: str, descending: bool) -> list[dict[str, Any]]:
    """Rows by `key` (SORT_KEYS), missing values last in either order, then by username."""
    def value(row: dict[str, Any]) -> Any:
        if key == "stage":
            return (row["stage_number"] if row["stage_number"] is not None else -1, row["fraction"] or 0.0)
        if key == "state":
            return STATE_ORDER.get(row["state"], 9)
        if key == "since":
            return row["since"]
        if key == "eta":
            return row["pipeline_eta_s"] if row["pipeline_eta_s"] is not None else row["eta_s"]
        if key == "last_plan":
            return row["last_plan_at"]
        return row["username"]

    known = [row for row in rows if value(row) is not None]
    unknown = [row for row in rows if value(row) is None]
    known.sort(key=lambda row: row["username"])
    known.sort(key=value, reverse=descending)
    unknown.sort(key=lambda row: row["username"])
    return known + unknown
