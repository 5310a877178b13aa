"""The stage analytics page's figures: `tracker.analytics.history_report`, cached and shared.

The report reads a whole window of the log (about 0.1 s for a day of a 100,000-event log, 0.6 s
for a week, on 2 cores), so it is not computed for every page and every event: one report per
window is kept, and computed again only when the log has new events and the last one is older than
`max(MIN_GAP_S, COST_FACTOR x its cost)`. While events flow, the analytics page is at most a
second behind for a day's window, and computing it takes at most a tenth of one core whatever the
window and however many pages show it.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from content_miner.tracker.analytics import Window, history_report, parse_since
from content_miner.tracker.history_view import report_json
from content_miner.tracker.stage_log import last_seq

from .sources import LogReader

MIN_GAP_S = 1.0
COST_FACTOR = 10.0
MAX_WINDOW_S = 90 * 86400
MAX_WINDOWS = 8  # reports kept (one per window asked for)
TOP = 10


class BadWindow(ValueError):
    pass


def window_seconds(text: str) -> float:
    try:
        seconds = parse_since(text)
    except ValueError:
        raise BadWindow("since must be a duration like 1h, 24h or 7d") from None
    if seconds > MAX_WINDOW_S:
        raise BadWindow("since must be at most 90d")
    return seconds


@dataclass
class _Report:
    seq: int
    at: float  # monotonic, when computed
    gap_s: float  # the earliest next computation is this long after `at`
    body: dict[str, Any]


class HistoryCache:
    def __init__(self, read_log: LogReader, log_path: Path, *, now: Callable[[], float] = time.time,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.read_log = read_log
        self.log_path = log_path
        self.now = now
        self.clock = clock
        self._lock = threading.Lock()  # one computation at a time: the others wait for its result
        self._reports: dict[str, _Report] = {}

    def get(self, since: str) -> dict[str, Any]:
        seconds = window_seconds(since)
        with self._lock:
            cached = self._reports.get(since)
            moment = self.clock()
            fresh = cached is not None and moment < cached.at + cached.gap_s
            # The log is opened only when a new report may be due.
            seq = cached.seq if cached is not None and fresh else self.read_log(last_seq)
            if cached is not None and (fresh or cached.seq == seq):
                return {**cached.body, "next_refresh_s": max(0.0, cached.at + cached.gap_s - moment)}
            window = Window.last(seconds, self.now())
            began = time.perf_counter()
            report = self.read_log(lambda db: history_report(db, window, top=TOP))
            cost = time.perf_counter() - began
            body = report_json(report, since=since, log=self.log_path, chart=None)
            body.update({"computed_at": window.end, "cost_s": round(cost, 4), "last_seq": seq})
            gap = max(MIN_GAP_S, COST_FACTOR * cost)
            if len(self._reports) >= MAX_WINDOWS and since not in self._reports:
                self._reports.pop(next(iter(self._reports)))
            self._reports[since] = _Report(seq, self.clock(), gap, body)
            return {**body, "next_refresh_s": gap}
