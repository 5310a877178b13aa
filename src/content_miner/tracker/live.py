"""What each running stage means now: how far it is, how long it should still take, whether it is stuck.

The stage log holds the facts (each account's current transition, its progress, the durations of every
stage that ever ended); this module turns them into what an operator asks:

- progress: `done / total` from `stage_progress`.
- ETA of the running stage: from its progress when it has some (elapsed x remaining / done, and the
  p90 rate of that stage's history for the slow case); else from the history's per-item rate times
  the stage's size (its progress total) when known; else from the history's p50/p90 durations; else
  from the stage definition's `expected_s`. The whole pipeline's ETA adds the later stages' p50 (p90).
- stalled: a running stage past its definition's `max_s`, or with no start or progress for longer
  than `factor` x its historical p95 (at least `MIN_STALL_S`); past `restart_factor` times either
  limit the supervisor restarts the module (`must_restart`).
- idle: a module's own Stage 0 while it waits for work (the writer marks it `details.idle`).
"""

from __future__ import annotations

import dataclasses
import json
import math
import sqlite3
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from .definitions import DEFAULTS, DefinitionsError, StageDefinitions, from_document
from .stages import RUNNING

MIN_HISTORY = 3  # completed runs of a stage before its durations are trusted for ETAs and stalls
MIN_STALL_S = 30.0
HISTORY_WINDOW = 200  # the most recent completed runs of each stage that the figures come from
RECENT_SCAN = 20_000  # the stages with figures: those completed among this many newest events
STATS_MIN_REFRESH_S = 5.0  # stage figures are read again at most this often, however many stages complete


@dataclass(frozen=True)
class StageStats:
    count: int
    p50_s: float
    p90_s: float
    p95_s: float
    rate_p50_s: float | None = None  # seconds per item (progress total), where the runs reported one
    rate_p90_s: float | None = None


def percentile(values: list[float], q: float) -> float:
    """The q-th percentile (0-100) by linear interpolation (numpy's default); `values` sorted, non-empty."""
    position = (len(values) - 1) * q / 100.0
    low = math.floor(position)
    high = min(low + 1, len(values) - 1)
    return values[low] + (values[high] - values[low]) * (position - low)


def stage_stats(db: sqlite3.Connection, window: int = HISTORY_WINDOW) -> dict[tuple[str, int], StageStats]:
    """Per (source, stage) seen among the last RECENT_SCAN events: figures of its last `window`
    completed runs (and their per-item rates, where the completion's details give `items`). One
    short indexed read per stage, so the cost does not grow with the log."""
    newest = db.execute("SELECT max(seq) FROM events").fetchone()[0] or 0
    pairs = db.execute(
        "SELECT DISTINCT source, stage_number FROM events WHERE seq > ? AND status = 'completed'"
        " AND typeof(stage_number) = 'integer'", (newest - RECENT_SCAN,)).fetchall()
    rows = [(source, number, seconds, items) for source, number in pairs
            for seconds, items in db.execute(
                "SELECT duration_s, json_extract(details, '$.items') FROM events WHERE source = ? AND stage_number = ?"
                " AND status = 'completed' AND duration_s IS NOT NULL ORDER BY ts DESC LIMIT ?",
                (source, number, window))]
    durations: dict[tuple[str, int], list[float]] = {}
    rates: dict[tuple[str, int], list[float]] = {}
    for source, number, seconds, items in rows:
        key = (source, number)
        durations.setdefault(key, []).append(float(seconds))
        if isinstance(items, (int, float)) and items > 0:
            rates.setdefault(key, []).append(float(seconds) / float(items))
    found = {}
    for key, values in durations.items():
        values.sort()
        per_item = sorted(rates.get(key, []))
        found[key] = StageStats(len(values), percentile(values, 50), percentile(values, 90), percentile(values, 95),
                                percentile(per_item, 50) if len(per_item) >= MIN_HISTORY else None,
                                percentile(per_item, 90) if len(per_item) >= MIN_HISTORY else None)
    return found


class StatsCache:
    """`stage_stats`, read again once a stage completed since (at most every STATS_MIN_REFRESH_S), and
    every `refresh_s` anyway."""

    def __init__(self, read: Callable[[Callable[[sqlite3.Connection], Any], Any], Any], refresh_s: float = 30.0,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self._read = read
        self.refresh_s = refresh_s
        self._clock = clock
        self._lock = threading.Lock()
        self._stats: dict[tuple[str, int], StageStats] = {}
        self._at: float | None = None
        self._latest: int | None = None

    def get(self, db: sqlite3.Connection | None = None) -> dict[tuple[str, int], StageStats]:
        """The figures, read again when a stage completed since (or `refresh_s` passed): through `db`
        when the caller is inside a read already. Always the log's read lock first, then this
        cache's (the snapshot thread comes in holding the former)."""
        if db is None:
            return self._read(self.get, self._stats)
        with self._lock:
            now = self._clock()
            latest = last_completion(db)
            if self._at is None or now - self._at >= self.refresh_s or (
                    latest != self._latest and now - self._at >= STATS_MIN_REFRESH_S):
                self._stats = stage_stats(db)
                self._at, self._latest = now, latest
            return self._stats


def last_completion(db: sqlite3.Connection) -> int | None:
    """The newest completion's seq (cheap: completions are frequent among the newest events)."""
    row = db.execute("SELECT seq FROM events WHERE status = 'completed' ORDER BY seq DESC LIMIT 1").fetchone()
    return int(row[0]) if row else None


@dataclass(frozen=True)
class StallRules:
    factor: float = 3.0  # no start or progress for this many times the stage's p95: stalled
    restart_factor: float = 2.0  # ... for this many times the stall limit: the module is restarted


PUBLISHED_KEY = "published"  # the stage log's meta key for what its owner judges stages by


def read_published(raw: object) -> tuple[StageDefinitions, StallRules]:
    """The definitions and stall rules the miner published in its stage log (`MinerStageTracker.publish`);
    the defaults when there are none or they cannot be read."""
    try:
        document = json.loads(raw) if isinstance(raw, str) else None
        if not isinstance(document, dict):
            return DEFAULTS, StallRules()
        stall = document.get("stall")
        rules = StallRules(**{key: float(stall[key]) for key in ("factor", "restart_factor") if key in stall}) \
            if isinstance(stall, dict) else StallRules()
        return from_document(document.get("definitions"), "published in the stage log"), rules
    except (ValueError, TypeError, DefinitionsError):
        return DEFAULTS, StallRules()


@dataclass(frozen=True)
class LiveStage:
    source: str
    username: str
    stage_number: int | None
    stage_name: str
    status: str
    state: str  # running, stalled, idle, completed, failed, crashed (its module died in it)
    elapsed_s: float | None
    progress_done: int | None
    progress_total: int | None
    eta_s: float | None  # the running stage's remaining time, typical case
    eta_p90_s: float | None
    pipeline_eta_s: float | None  # the account's remaining time, this stage and the later ones
    pipeline_eta_p90_s: float | None
    quiet_s: float | None  # since the stage's start or its last progress
    stall_limit_s: float | None
    must_restart: bool
    started_at: float | None = None  # wall clock: with source, account and stage, names one run

    @property
    def fraction(self) -> float | None:
        if self.progress_total and self.progress_done is not None:
            return min(1.0, self.progress_done / self.progress_total)
        return None


def live_stage(source: str, username: str, entry: dict[str, Any], *, definitions: StageDefinitions,
               stats: dict[tuple[str, int], StageStats], now: float, rules: StallRules = StallRules()) -> LiveStage:
    """What `entry` (a `current` row of the stage log) means at wall-clock time `now`."""
    number = entry.get("stage_number")
    status = str(entry.get("status") or "")
    details = entry.get("details")
    idle = isinstance(details, dict) and details.get("idle") is True
    running = status == RUNNING and isinstance(number, int)
    started = entry.get("started_at") if running else None
    elapsed = max(0.0, now - float(started)) if isinstance(started, (int, float)) else None
    done, total = entry.get("progress_done"), entry.get("progress_total")
    eta = eta90 = quiet = limit = None
    must_restart = False
    state = "idle" if running and idle else status
    if status == "failed" and isinstance(details, dict) and details.get("crashed") is True \
            and details.get("interrupted") is not True:
        state = "crashed"
    if running and not idle and elapsed is not None:
        assert isinstance(number, int)
        history = stats.get((source, number))
        eta, eta90 = _stage_eta(elapsed, done, total, history, definitions.stage(source, number))
        last_sign = max(float(started), float(entry.get("progress_at") or 0.0))  # type: ignore[arg-type]
        quiet = max(0.0, now - last_sign)
        definition = definitions.stage(source, number)
        most = definition.max_s if definition is not None else None
        quiet_limit = (max(MIN_STALL_S, rules.factor * history.p95_s)
                       if history is not None and history.count >= MIN_HISTORY else None)
        limits = [value for value in (most, quiet_limit) if value is not None]
        limit = min(limits) if limits else None
        if (most is not None and elapsed > most) or (quiet_limit is not None and quiet > quiet_limit):
            state = "stalled"
            must_restart = ((most is not None and elapsed > most * rules.restart_factor)
                            or (quiet_limit is not None and quiet > quiet_limit * rules.restart_factor))
    pipeline = pipeline90 = None
    if eta is not None and isinstance(number, int) and not idle:
        later = [stats.get((source, stage.number)) for stage in definitions.later_stages(source, number)]
        known = [history for history in later if history is not None and history.count >= MIN_HISTORY]
        pipeline = eta + sum(history.p50_s for history in known)
        pipeline90 = (eta90 if eta90 is not None else eta) + sum(history.p90_s for history in known)
    return LiveStage(source, username, number if isinstance(number, int) else None,
                     str(entry.get("stage_name") or ""), status, state, elapsed, done, total, eta, eta90, pipeline,
                     pipeline90, quiet, limit, must_restart,
                     float(started) if isinstance(started, (int, float)) else None)


def _stage_eta(elapsed: float, done: Any, total: Any, history: StageStats | None,
               definition: Any) -> tuple[float | None, float | None]:
    trusted = history is not None and history.count >= MIN_HISTORY
    if isinstance(done, int) and isinstance(total, int) and total > 0 and 0 < done <= total:
        remaining = elapsed * (total - done) / done
        slow = remaining
        if trusted and history is not None and history.rate_p90_s is not None:
            slow = max(remaining, history.rate_p90_s * (total - done))
        return remaining, slow
    if trusted and history is not None:
        if isinstance(total, int) and total > 0 and history.rate_p50_s is not None and history.rate_p90_s is not None:
            return max(0.0, history.rate_p50_s * total - elapsed), max(0.0, history.rate_p90_s * total - elapsed)
        return max(0.0, history.p50_s - elapsed), max(0.0, history.p90_s - elapsed)
    expected = getattr(definition, "expected_s", None)
    if expected is not None:
        return max(0.0, expected - elapsed), None
    return None, None


def short_duration(seconds: float | None) -> str:
    """`45s`, `3m 20s`, `2h 05m`; `?` when unknown."""
    if seconds is None:
        return "?"
    total = int(round(seconds))
    if total < 60:
        return f"{total}s"
    if total < 3600:
        return f"{total // 60}m {total % 60:02d}s"
    return f"{total // 3600}h {total % 3600 // 60:02d}m"


def focus(stages: list[LiveStage], source: str = "module1") -> LiveStage | None:
    """The stage the status line is about: the pipeline's account stage that is running (stalled
    first, then the latest), else the pipeline's own state (idle, or its last transition)."""
    mine = [stage for stage in stages if stage.source == source]
    working = [stage for stage in mine if stage.state in ("running", "stalled")]
    if working:
        return max(working, key=lambda stage: (stage.state == "stalled", stage.started_at or 0.0))
    own = [stage for stage in mine if not stage.username]
    return own[0] if own else (mine[-1] if mine else None)


def stats_rows(stats: dict[tuple[str, int], StageStats]) -> list[dict[str, Any]]:
    """The figures as JSON rows (the status file carries them, so readers of it get ETAs too)."""
    return [{"source": source, "stage_number": number, **dataclasses.asdict(figures)}
            for (source, number), figures in sorted(stats.items())]


def stats_from_rows(rows: object) -> dict[tuple[str, int], StageStats]:
    found: dict[tuple[str, int], StageStats] = {}
    if not isinstance(rows, list):
        return found
    names = {field.name for field in dataclasses.fields(StageStats)}
    for row in rows:
        try:
            found[(str(row["source"]), int(row["stage_number"]))] = StageStats(
                **{key: value for key, value in row.items() if key in names})
        except (KeyError, TypeError, ValueError):
            continue
    return found
