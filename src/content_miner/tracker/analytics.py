"""History analytics over a window of the stage log: what the history command (and a dashboard) shows.

Pure functions over an open `sqlite3.Connection` (`read_only.read_stage_log` gives one that never
writes), each bounded whatever the log's size: a time window, `LIMIT`s, SQL aggregation for counts
and maxima, and percentiles computed over at most `SAMPLE_LIMIT` durations per stage (the most
recent ones of the window: exact below that).

Definitions (the history command's README section repeats them):
- a run of a stage ends in the window when its `completed` or `failed` event's time is in it;
  `started` counts its `running` events there;
- `failed` excludes stages closed by a planned stop or an idle wait cut short (`details.interrupted`),
  counted apart as `interrupted`; success rate = completed / (completed + failed);
- durations (p50, p95, max) are those of completed runs; a failure's duration is not the stage's;
- the slowest accounts rank accounts by their longest completed stage run in the window;
- failure reasons group failed events by source, stage and message, with the account's name and the
  numbers that vary between incidents replaced (`<account>`, `#`: `reason_of`), so one cause is one line.
"""

from __future__ import annotations

import math
import re
import sqlite3
from dataclasses import dataclass, field

from .live import percentile
from .stages import COMPLETED, FAILED, RUNNING

SAMPLE_LIMIT = 20_000  # durations per (source, stage) that percentiles are computed from
TOP_LIMIT = 10
MESSAGES_LIMIT = 2_000  # distinct failure messages read before they are grouped by reason
MAX_BUCKETS = 48
BUCKET_SIZES_S = (60, 300, 900, 3600, 6 * 3600, 86400, 7 * 86400)
_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 7 * 86400}
_INTEGER_STAGE = "typeof(stage_number) = 'integer'"
_NUMBER = re.compile(r"(?<![\w.])\d+(?:\.\d+)?")
_CLASSIFIER = re.compile(r"(?:HTTP|status|code)[\s:/=-]*$", re.IGNORECASE)


MAX_WINDOW_S = 3650 * 86400.0  # ten years: older than any stage log, and a date Python can still show


def parse_since(text: str) -> float:
    """`30m`, `24h`, `7d`, `2w`, `90s` (or a plain number of seconds) -> seconds; ValueError otherwise."""
    match = re.fullmatch(r"\s*(\d+(?:\.\d+)?)\s*([smhdw]?)\s*", text or "")
    if not match:
        raise ValueError(f"not a duration: {text!r} (use e.g. 30m, 24h, 7d)")
    seconds = float(match.group(1)) * _UNITS[match.group(2) or "s"]
    if not math.isfinite(seconds) or seconds <= 0:
        raise ValueError(f"not a duration: {text!r} (must be more than 0)")
    if seconds > MAX_WINDOW_S:
        raise ValueError(f"too long a window: {text!r} (at most 3650d)")
    return seconds


@dataclass(frozen=True)
class Window:
    """Events with `start <= ts < end` (wall clock); durations over time in buckets of `bucket_s`."""

    start: float
    end: float
    bucket_s: float

    @classmethod
    def last(cls, seconds: float, now: float) -> Window:
        return cls(now - seconds, now, bucket_size(seconds))


def bucket_size(span_s: float) -> float:
    """The smallest of BUCKET_SIZES_S giving at most MAX_BUCKETS buckets (per hour over a day)."""
    for size in BUCKET_SIZES_S:
        if span_s / size <= MAX_BUCKETS:
            return float(size)
    return float(math.ceil(span_s / MAX_BUCKETS))


@dataclass(frozen=True)
class StageFigures:
    source: str
    stage_number: int
    stage_name: str
    started: int
    completed: int
    failed: int
    interrupted: int
    success_rate: float | None  # completed / (completed + failed); None without either
    p50_s: float | None  # of completed runs with a duration
    p95_s: float | None
    max_s: float | None
    sampled: int  # durations the percentiles come from (the most recent, at most SAMPLE_LIMIT)


@dataclass(frozen=True)
class SlowAccount:
    source: str
    username: str
    stage_number: int
    stage_name: str
    longest_s: float  # the account's longest completed stage run in the window ...
    at: float  # ... ended then
    total_s: float  # every completed stage run of the account in the window, added up
    runs: int


@dataclass(frozen=True)
class FailureReason:
    source: str
    stage_number: int
    stage_name: str
    reason: str  # the message with the account's name and numbers replaced
    example: str  # the latest message of the group, as written
    count: int
    accounts: int  # distinct accounts (an empty username counts as one)
    last_at: float


@dataclass(frozen=True)
class DurationBucket:
    start: float
    count: int
    p50_s: float
    p95_s: float


@dataclass(frozen=True)
class DurationSeries:
    source: str
    stage_number: int
    stage_name: str
    buckets: list[DurationBucket] = field(default_factory=list)


@dataclass(frozen=True)
class HistoryReport:
    window: Window
    stages: list[StageFigures]
    slowest: list[SlowAccount]
    failures: list[FailureReason]
    durations: list[DurationSeries]
    events: int  # events in the window, all statuses


Samples = dict[tuple[str, int], list[tuple[float, float]]]  # (source, stage) -> [(ts, seconds)], newest first


def duration_samples(db: sqlite3.Connection, window: Window, keys: list[tuple[str, int]],
                     limit: int = SAMPLE_LIMIT) -> Samples:
    """The most recent `limit` completed durations of each (source, stage) in the window (by the
    (source, stage_number, ts) index: one range per stage, whatever else the log holds)."""
    found: Samples = {}
    for source, number in keys:
        rows = db.execute(
            "SELECT ts, duration_s FROM events WHERE source = ? AND stage_number = ? AND ts >= ? AND ts < ? "
            "AND status = ? AND duration_s IS NOT NULL ORDER BY ts DESC LIMIT ?",
            (source, number, window.start, window.end, COMPLETED, limit)).fetchall()
        found[(source, number)] = [(float(ts), float(seconds)) for ts, seconds in rows]
    return found


def stage_figures(db: sqlite3.Connection, window: Window, samples: Samples | None = None) -> list[StageFigures]:
    """Per source and stage with any event in the window: runs, success rate, p50/p95/max duration."""
    rows = db.execute(
        "SELECT source, stage_number, MAX(stage_name), "
        f" SUM(status = '{RUNNING}'), SUM(status = '{COMPLETED}'),"
        f" SUM(status = '{FAILED}' AND coalesce(json_extract(details, '$.interrupted'), 0) = 0),"
        f" SUM(status = '{FAILED}' AND coalesce(json_extract(details, '$.interrupted'), 0) != 0),"
        f" MAX(CASE WHEN status = '{COMPLETED}' THEN duration_s END)"
        f" FROM events WHERE ts >= ? AND ts < ? AND {_INTEGER_STAGE}"
        " GROUP BY source, stage_number ORDER BY source, stage_number",
        (window.start, window.end)).fetchall()
    if samples is None:
        samples = duration_samples(db, window, [(row[0], row[1]) for row in rows])
    figures = []
    for source, number, name, started, completed, failed, interrupted, longest in rows:
        durations = sorted(seconds for _, seconds in samples.get((source, number), []))
        ended = completed + failed
        figures.append(StageFigures(
            source, number, name, started, completed, failed, interrupted,
            completed / ended if ended else None,
            percentile(durations, 50) if durations else None,
            percentile(durations, 95) if durations else None,
            float(longest) if longest is not None else None, len(durations)))
    return figures


def slowest_accounts(db: sqlite3.Connection, window: Window, limit: int = TOP_LIMIT) -> list[SlowAccount]:
    """Accounts by their longest completed stage run in the window, slowest first."""
    # SQLite takes the bare columns (stage_number, stage_name, ts) from the row holding MAX().
    rows = db.execute(
        "SELECT source, username, stage_number, stage_name, MAX(duration_s), ts, SUM(duration_s), COUNT(*) "
        "FROM events WHERE ts >= ? AND ts < ? AND status = ? AND duration_s IS NOT NULL AND username != '' "
        f"AND {_INTEGER_STAGE} GROUP BY source, username ORDER BY MAX(duration_s) DESC, source, username LIMIT ?",
        (window.start, window.end, COMPLETED, limit)).fetchall()
    return [SlowAccount(source, user, number, name, float(longest), float(ts), float(total), runs)
            for source, user, number, name, longest, ts, total, runs in rows]


def reason_of(message: str, username: str) -> str:
    """The message as a failure reason: the account's name replaced, and the numbers that differ from
    one incident to the next (durations, counts: any decimal or number of two or more digits) made
    `#`. Single digits ("Module 1", "Stage 3") and codes ("HTTP 404", "exit code 137") stay: they
    tell causes apart."""
    text = message.replace(username, "<account>") if username else message

    def number(match: re.Match[str]) -> str:
        found = match.group(0)
        if (len(found) == 1) or _CLASSIFIER.search(text, 0, match.start()):
            return found
        return "#"

    return _NUMBER.sub(number, text).strip()


@dataclass
class _ReasonGroup:
    name: str
    example: str
    last_at: float
    count: int = 0
    accounts: set[str] = field(default_factory=set)


def failure_reasons(db: sqlite3.Connection, window: Window, limit: int = TOP_LIMIT) -> list[FailureReason]:
    """The most frequent reasons stages failed in the window (planned interruptions left out)."""
    rows = db.execute(
        "SELECT source, stage_number, MAX(stage_name), username, message, COUNT(*), MAX(ts) FROM events "
        f"WHERE ts >= ? AND ts < ? AND status = ? AND {_INTEGER_STAGE} "
        "AND coalesce(json_extract(details, '$.interrupted'), 0) = 0 "
        "GROUP BY source, stage_number, username, message ORDER BY COUNT(*) DESC, MAX(ts) DESC LIMIT ?",
        (window.start, window.end, FAILED, MESSAGES_LIMIT)).fetchall()
    groups: dict[tuple[str, int, str], _ReasonGroup] = {}
    for source, number, name, username, message, count, last in rows:
        group = groups.setdefault((source, number, reason_of(message, username)), _ReasonGroup(name, message, last))
        group.count += int(count)
        group.accounts.add(username)
        if last > group.last_at:
            group.last_at, group.example = last, message
    reasons = [FailureReason(source, number, group.name, reason, group.example, group.count, len(group.accounts),
                             float(group.last_at))
               for (source, number, reason), group in groups.items()]
    reasons.sort(key=lambda r: (-r.count, -r.last_at, r.source, r.stage_number, r.reason))
    return reasons[:limit]


def durations_over_time(window: Window, samples: Samples, names: dict[tuple[str, int], str]) -> list[DurationSeries]:
    """Per source and stage, the completed durations in buckets of `window.bucket_s` (p50, p95)."""
    series = []
    for (source, number), points in sorted(samples.items()):
        if not points:
            continue
        buckets: dict[int, list[float]] = {}
        for ts, seconds in points:
            buckets.setdefault(int((ts - window.start) // window.bucket_s), []).append(seconds)
        found = []
        for index in sorted(buckets):
            values = sorted(buckets[index])
            found.append(DurationBucket(window.start + index * window.bucket_s, len(values),
                                        percentile(values, 50), percentile(values, 95)))
        series.append(DurationSeries(source, number, names.get((source, number), f"Stage {number}"), found))
    return series


def history_report(db: sqlite3.Connection, window: Window, *, top: int = TOP_LIMIT) -> HistoryReport:
    """Everything the history command shows, from one consistent view of the log."""
    keys = [(source, number) for source, number in db.execute(
        f"SELECT DISTINCT source, stage_number FROM events WHERE ts >= ? AND ts < ? AND status = ? "
        f"AND {_INTEGER_STAGE}", (window.start, window.end, COMPLETED))]
    samples = duration_samples(db, window, keys)
    stages = stage_figures(db, window, samples)
    names = {(figure.source, figure.stage_number): figure.stage_name for figure in stages}
    events = db.execute("SELECT COUNT(*) FROM events WHERE ts >= ? AND ts < ?", (window.start, window.end)).fetchone()
    return HistoryReport(window, stages, slowest_accounts(db, window, top), failure_reasons(db, window, top),
                         durations_over_time(window, samples, names), int(events[0]))
