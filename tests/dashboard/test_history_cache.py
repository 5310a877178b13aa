"""The analytics page's report cache: computed again only when the log moved and its gap passed."""

from __future__ import annotations

import sqlite3
from collections.abc import Callable
from typing import Any, TypeVar

from content_miner.dashboard.history import MIN_GAP_S, HistoryCache
from content_miner.dashboard.sources import read_only_log

T = TypeVar("T")


def test_the_log_is_opened_only_when_a_new_report_may_be_due(history: Any) -> None:
    opened: list[str] = []
    real = read_only_log(history.layout.stage_log)

    def read_log(query: Callable[[sqlite3.Connection], T], /) -> T:
        opened.append(getattr(query, "__name__", "report"))
        return real(query)

    moment = [1000.0]
    cache = HistoryCache(read_log, history.layout.stage_log, clock=lambda: moment[0])
    first: dict[str, Any] = cache.get("24h")
    assert first["stages"] and len(opened) == 2  # the log's end, then the report
    gap = first["next_refresh_s"]
    assert gap >= MIN_GAP_S

    moment[0] += gap / 2  # within the gap: the cached report, the log left closed
    assert cache.get("24h")["last_seq"] == first["last_seq"] and len(opened) == 2

    moment[0] += gap  # past the gap, nothing new in the log: one look at its end, no report
    assert cache.get("24h")["computed_at"] == first["computed_at"] and opened[2:] == ["last_seq"]

    history.tracker.stage_start(1, "Scraping data", "newcomer")
    assert history.tracker.flush(5.0)
    again = cache.get("24h")  # the log moved and the gap has passed: computed again
    assert again["last_seq"] > first["last_seq"] and len(opened) == 5
