"""The axon's view of the stage log: each current entry carries what it means now (state, progress, ETA)."""

from __future__ import annotations

from pathlib import Path

import pytest

from content_miner.neuron.axon_handlers import _entry
from content_miner.neuron.stage_view import StageView
from content_miner.tracker import MinerStageTracker
from content_miner.tracker.live import StallRules
from support.tracker import SteppedClock


def test_snapshot_entries_carry_state_progress_and_eta_into_the_synapse(tmp_path: Path) -> None:
    time = SteppedClock()
    tracker = MinerStageTracker(tmp_path / "miner_status.json", source="module1", clock=time.clock)
    tracker.stage_start(0, "Waiting for accounts", "", {"idle": True})
    tracker.stage_start(1, "Scraping", "bob")
    time.advance(4000)  # past Stage 1's max_s: stalled
    tracker.stage_start(3, "Indexing", "alice")
    time.advance(8)
    tracker.stage_progress(3, 40, 100, "alice")
    view = StageView(tracker, StallRules())
    page = view.snapshot("", events_limit=0)
    by_name = {entry["username"]: entry for entry in page.current}
    assert by_name[""]["state"] == "idle"
    assert by_name["bob"]["state"] == "stalled"
    alice = _entry(by_name["alice"])
    assert (alice.state, alice.progress_done, alice.progress_total) == ("running", 40, 100)
    assert alice.eta_s == pytest.approx(12.0)  # 8 s for 40 items: 12 s for the other 60
    assert alice.pipeline_eta_s is not None and alice.pipeline_eta_s >= alice.eta_s
    assert view.snapshot("alice", events_limit=0).current[0]["username"] == "alice"


def test_pages_walk_every_account_once_in_order_with_a_total(tmp_path: Path) -> None:
    tracker = MinerStageTracker(tmp_path / "miner_status.json", source="module1")
    names = [f"acct{n:02d}" for n in range(7)]
    for name in reversed(names):
        tracker.stage_start(3, "Indexing", name)
    view = StageView(tracker, StallRules())
    seen, cursor, pages = [], "", 0
    while True:
        page = view.snapshot("", events_limit=0, limit=3, cursor=cursor)
        assert page.total == 7 and len(page.current) <= 3
        seen += [entry["username"] for entry in page.current]
        pages += 1
        if page.next_cursor is None:
            break
        cursor = page.next_cursor
    assert (seen, pages) == (names, 3)
    # A limit out of range is brought into it; a cursor past the end is an empty last page.
    assert len(view.snapshot("", events_limit=0, limit=0).current) == 1
    assert len(view.snapshot("", events_limit=0, limit=10_000).current) == 7
    last = view.snapshot("", events_limit=0, cursor="zzz")
    assert (last.current, last.next_cursor, last.total) == ([], None, 7)
