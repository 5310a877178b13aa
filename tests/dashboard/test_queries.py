"""The dashboard's reads are bounded whatever the log holds, and its views are right: account rows,
event pages with filters, an account's runs and failures."""

from __future__ import annotations

from functools import partial
from typing import Any

import pytest

from content_miner.dashboard.accounts import account_rows, sort_rows
from content_miner.dashboard.queries import (
    EventFilter,
    account_events,
    current_entries,
    events_page,
    last_completions,
)
from content_miner.dashboard.timeline import failures_of, runs_of
from content_miner.tracker.definitions import DEFAULTS


def test_every_account_has_one_row_with_its_pipeline_stage_and_last_plan(history) -> None:
    entries = history.sources().read_log(current_entries)
    plans = history.sources().read_log(lambda db: last_completions(db, "module1", 7))
    rows = account_rows(history.tracker.live(status={"current": entries}), entries, DEFAULTS, plans)
    assert len(rows) == 50 and "" not in rows
    for row in rows.values():
        assert row["source"] == "module1"  # the pipeline's entry, though Module 2's came later
        assert set(row["sources"]) <= {"module1", "module2"}
        if row["status"] == "completed":
            assert row["stage_number"] == 7 and row["fraction"] == 1.0 and row["last_plan_at"] is not None
        else:
            assert row["status"] == "failed" and 0 <= row["fraction"] < 1
    by_name = sort_rows(list(rows.values()), "username", descending=False)
    assert [row["username"] for row in by_name] == sorted(rows)
    newest_plan = sort_rows(list(rows.values()), "last_plan", descending=True)
    plan_times = [row["last_plan_at"] for row in newest_plan if row["last_plan_at"] is not None]
    assert plan_times == sorted(plan_times, reverse=True)


def test_a_filtered_page_of_events_reads_a_bounded_range_and_says_where_to_go_on(history) -> None:
    read = history.sources().read_log
    newest = read(lambda db: events_page(db, None, 10, EventFilter()))
    assert len(newest.events) == 10 and newest.events[0]["seq"] > newest.events[-1]["seq"]
    after = read(lambda db: events_page(db, newest.next_before, 10, EventFilter()))
    assert after.events[0]["seq"] == newest.events[-1]["seq"] - 1

    # failures are rare: a page looks at 300 rows at most, and says how far back it got
    seen: list[dict[str, Any]] = []
    before = None
    for _ in range(100):
        page = read(partial(events_page, before=before, limit=50, wanted=EventFilter(status="failed"), scan_rows=300))
        seen += page.events
        assert all(event["status"] == "failed" for event in page.events)
        if page.next_before is None:
            break
        assert before is None or page.next_before < before
        before = page.next_before
    every = read(lambda db: db.execute("SELECT COUNT(*) FROM events WHERE status = 'failed'").fetchone()[0])
    assert len(seen) == every > 0
    assert [event["seq"] for event in seen] == sorted((event["seq"] for event in seen), reverse=True)

    one = read(lambda db: events_page(db, None, 200, EventFilter(username="acct_0007", source="module2")))
    assert one.events and all(e["username"] == "acct_0007" and e["source"] == "module2" for e in one.events)


def test_an_accounts_events_become_runs_with_a_bar_per_stage_and_its_failures(history) -> None:
    events = history.sources().read_log(lambda db: account_events(db, "acct_0003"))
    runs = runs_of(events)
    assert runs and runs[0].start >= runs[-1].start  # newest first
    for run in runs:
        numbers = [(bar.source, bar.stage_number) for bar in run.bars]
        assert numbers[0] == ("module1", 1)
        if run.status == "completed":
            assert numbers == [("module1", n) for n in range(1, 8)] + [("module2", 1)]
            assert all(bar.end is not None and bar.duration_s is not None for bar in run.bars)
        else:
            assert run.status == "failed" and run.bars[-1].status == "failed"
    failures = failures_of(events)
    assert len(failures) == sum(1 for run in runs if run.status == "failed")


def _event(seq: int, ts: float, status: str, number: int, source: str = "module1", flag: str | None = None,
           user: str = "bob") -> dict[str, Any]:
    return {"seq": seq, "ts": ts, "source": source, "username": user, "stage_number": number,
            "stage_name": f"S{number}", "status": status, "message": f"{status} {number}", "duration_s": None,
            "flag": flag}


def test_runs_split_when_a_stage_starts_again_and_open_stages_are_told_apart() -> None:
    events = [_event(1, 10, "running", 1), _event(2, 11, "completed", 1), _event(3, 11, "running", 2),
              # the module died in Stage 2 without a close (pruned): the next run starts at Stage 1
              _event(4, 50, "running", 1), _event(5, 52, "failed", 1, flag="crashed"),
              _event(6, 60, "running", 1), _event(7, 61, "completed", 1), _event(8, 61, "running", 2)]
    newest, middle, oldest = runs_of(events, running_now={("module1", 2)})
    assert [bar.status for bar in oldest.bars] == ["completed", "open"] and oldest.status == "open"
    assert middle.status == "failed" and middle.bars[0].flag == "crashed" and middle.bars[0].duration_s == 2
    assert newest.status == "running" and newest.bars[-1].status == "running"
    assert runs_of(events, running_now={("module1", 2)}, limit=1) == [newest]
    assert [f["seq"] for f in failures_of(events)] == [5]
    interrupted = [_event(1, 1, "running", 3), _event(2, 2, "failed", 3, flag="interrupted")]
    assert failures_of(interrupted) == []


@pytest.mark.parametrize("limit", [1, 50, 200])
def test_pages_are_capped(history, limit: int) -> None:
    page = history.sources().read_log(lambda db: events_page(db, None, limit * 10, EventFilter()))
    assert len(page.events) == min(200, limit * 10)
