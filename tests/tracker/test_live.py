"""What a running stage means now (`MinerStageTracker.live`): progress, ETA from the history, stalled,
idle, crashed. One process, a real stage log, a clock the test moves."""

from __future__ import annotations

from pathlib import Path

import pytest

from content_miner.tracker import MinerStageTracker
from content_miner.tracker.definitions import DEFAULTS, StageDef, load_definitions
from content_miner.tracker.live import MIN_STALL_S, StallRules, focus, short_duration
from support.tracker import SteppedClock
from support.waiting import wait_for


def _tracker(status_path: Path, time: SteppedClock, definitions=DEFAULTS) -> MinerStageTracker:
    return MinerStageTracker(status_path, source="module1", clock=time.clock, definitions=definitions)


def _one(tracker: MinerStageTracker, username: str = "alice", rules: StallRules | None = None):
    (stage,) = [stage for stage in tracker.live(rules=rules) if stage.username == username]
    return stage


def _history(tracker: MinerStageTracker, time: SteppedClock, stage: int, seconds: list[float],
             items: int | None = None) -> None:
    """Completed runs of `stage` for other accounts, `seconds` long each."""
    for index, duration in enumerate(seconds):
        who = f"past{stage}x{index}"
        tracker.stage_start(stage, "start", who)
        time.advance(duration)
        tracker.stage_complete(stage, "done", who, {"items": items} if items else None)


def test_progress_gives_the_fraction_and_an_eta_from_the_rate_so_far(status_path: Path) -> None:
    time = SteppedClock()
    tracker = _tracker(status_path, time)
    tracker.stage_start(3, "Indexing", "alice")
    time.advance(10)
    tracker.stage_progress(3, 25, 100, "alice")
    stage = _one(tracker)
    assert (stage.state, stage.progress_done, stage.progress_total) == ("running", 25, 100)
    assert stage.fraction == 0.25
    assert stage.eta_s == pytest.approx(30.0)  # 10 s for 25 items: 30 s for the other 75
    assert stage.elapsed_s == pytest.approx(10.0) and stage.quiet_s == pytest.approx(0.0)


def test_progress_writes_are_throttled_to_one_a_second_but_the_last_one_always_lands(status_path: Path) -> None:
    time = SteppedClock()
    tracker = _tracker(status_path, time)
    tracker.stage_start(3, "Indexing", "alice")
    tracker.stage_progress(3, 10, 100, "alice")
    time.advance(0.3)
    tracker.stage_progress(3, 20, 100, "alice")  # inside the second: dropped
    assert _one(tracker).progress_done == 10
    time.advance(0.3)
    tracker.stage_progress(3, 100, 100, "alice")  # the last one: kept
    assert _one(tracker).progress_done == 100
    time.advance(1.0)
    tracker.stage_progress(3, 150, 100, "alice")  # more than the total: capped
    assert _one(tracker).progress_done == 100
    assert not [event for event in tracker.read_events() if event["status"] not in ("running",)], \
        "progress is no event and no log line"


def test_progress_that_came_too_soon_is_written_once_its_second_has_passed(status_path: Path) -> None:
    """A stage that reports and then waits (or a process frozen after reporting) still shows its
    latest progress: the background thread writes what the throttle held back."""
    time = SteppedClock()
    tracker = _tracker(status_path, time)
    tracker.stage_start(3, "Indexing", "alice")
    tracker.stage_progress(3, 10, 100, "alice")
    tracker.stage_progress(3, 64, 100, "alice")  # held back: within the second
    assert _one(tracker).progress_done == 10
    time.advance(1.0)
    wait_for(lambda: _one(tracker).progress_done == 64, timeout=10, what="the held-back progress to be written")


def test_progress_for_another_stage_than_the_running_one_is_ignored(status_path: Path) -> None:
    time = SteppedClock()
    tracker = _tracker(status_path, time)
    tracker.stage_start(4, "Analysing", "alice")
    tracker.stage_progress(3, 5, 10, "alice")  # a late call from the stage before
    assert _one(tracker).progress_done is None


def test_without_progress_the_eta_comes_from_the_stage_history(status_path: Path) -> None:
    time = SteppedClock()
    tracker = _tracker(status_path, time)
    _history(tracker, time, 4, [10, 20, 30])
    _history(tracker, time, 5, [4, 4, 4])
    _history(tracker, time, 6, [1, 1, 1])
    tracker.stage_start(4, "Analysing", "alice")
    time.advance(5)
    stage = _one(tracker)
    assert stage.eta_s == pytest.approx(15.0)  # p50 20 s - 5 s elapsed
    assert stage.eta_p90_s == pytest.approx(23.0)  # p90 28 s - 5 s
    assert stage.pipeline_eta_s == pytest.approx(15.0 + 4 + 1)  # the later stages' p50 added
    assert stage.pipeline_eta_p90_s == pytest.approx(23.0 + 4 + 1)


def test_the_history_per_item_rate_scales_the_eta_to_this_account_size(status_path: Path) -> None:
    time = SteppedClock()
    tracker = _tracker(status_path, time)
    _history(tracker, time, 3, [10, 10, 10], items=100)  # 0.1 s an item
    tracker.stage_start(3, "Indexing", "alice")
    tracker.stage_progress(3, 0, 1000, "alice")  # a big account: 1,000 items, none done yet
    time.advance(20)
    assert _one(tracker).eta_s == pytest.approx(80.0)  # 100 s for 1,000 items - 20 s elapsed


def test_with_no_history_the_definition_expected_time_is_the_eta(status_path: Path) -> None:
    time = SteppedClock()
    tracker = _tracker(status_path, time)
    tracker.stage_start(5, "Generating", "alice")
    time.advance(4)
    expected = DEFAULTS.stage("module1", 5).expected_s
    assert _one(tracker).eta_s == pytest.approx(expected - 4)


def test_a_stage_past_its_max_is_stalled_and_past_twice_that_must_be_restarted(status_path: Path) -> None:
    time = SteppedClock()
    definitions = load_definitions(None, DEFAULTS)
    tracker = _tracker(status_path, time, definitions)
    most = definitions.stage("module1", 1).max_s
    tracker.stage_start(1, "Scraping", "alice")
    time.advance(most - 1)
    assert _one(tracker).state == "running"
    time.advance(2)
    stage = _one(tracker)
    assert stage.state == "stalled" and not stage.must_restart and stage.stall_limit_s == most
    time.advance(most)
    assert _one(tracker).must_restart
    assert _one(tracker, rules=StallRules(restart_factor=3.0)).must_restart is False


def test_no_progress_for_longer_than_factor_times_p95_is_stalled_and_progress_clears_it(status_path: Path) -> None:
    time = SteppedClock()
    tracker = _tracker(status_path, time)
    _history(tracker, time, 3, [20, 20, 20])  # p95 20 s: quiet limit max(30, 3 x 20) = 60 s
    tracker.stage_start(3, "Indexing", "alice")
    tracker.stage_progress(3, 1, 10, "alice")
    time.advance(59)
    assert _one(tracker).state == "running"
    time.advance(2)
    stalled = _one(tracker)
    assert stalled.state == "stalled" and stalled.stall_limit_s == 60.0 and stalled.quiet_s == pytest.approx(61)
    tracker.stage_progress(3, 2, 10, "alice")
    assert _one(tracker).state == "running", "progress moves the stall clock"
    # A tighter factor, the same facts: stalled sooner; never below MIN_STALL_S.
    time.advance(31)
    assert _one(tracker, rules=StallRules(factor=0.5)).state == "stalled"
    assert _one(tracker, rules=StallRules(factor=0.5)).stall_limit_s == MIN_STALL_S


def test_an_idle_wait_is_idle_never_stalled_and_has_no_eta(status_path: Path) -> None:
    time = SteppedClock()
    tracker = _tracker(status_path, time)
    tracker.stage_start(0, "Waiting for accounts", "", {"idle": True})
    time.advance(10 * 86_400)
    (stage,) = tracker.live()
    assert (stage.state, stage.eta_s, stage.pipeline_eta_s) == ("idle", None, None)


def test_a_stage_its_module_died_in_reads_crashed_and_a_planned_stop_reads_failed(status_path: Path) -> None:
    time = SteppedClock()
    tracker = _tracker(status_path, time)
    tracker.stage_start(2, "Parsing", "alice")
    tracker.stage_failed(2, "Module 1 crashed (SIGKILL)", "alice", {"crashed": True})
    tracker.stage_start(2, "Parsing", "bob")
    tracker.stage_failed(2, "Module 1 was stopped", "bob", {"crashed": False, "interrupted": True})
    states = {stage.username: stage.state for stage in tracker.live()}
    assert states == {"alice": "crashed", "bob": "failed"}


def test_focus_is_the_stalled_stage_first_then_the_latest_running_one(status_path: Path) -> None:
    time = SteppedClock()
    definitions = load_definitions(None)
    tracker = _tracker(status_path, time, definitions)
    tracker.stage_start(0, "Waiting", "", {"idle": True})
    assert focus(tracker.live()).state == "idle"
    tracker.stage_start(1, "Scraping", "old")
    time.advance(definitions.stage("module1", 1).max_s + 1)
    tracker.stage_start(1, "Scraping", "new")
    chosen = focus(tracker.live())
    assert (chosen.username, chosen.state) == ("old", "stalled")


@pytest.mark.parametrize("seconds, text", [(None, "?"), (4.4, "4s"), (200, "3m 20s"), (7500, "2h 05m")])
def test_short_durations_read_as_an_operator_writes_them(seconds, text) -> None:
    assert short_duration(seconds) == text


def test_a_definitions_max_applies_to_its_own_stage_only(status_path: Path, tmp_path: Path) -> None:
    stage_file = tmp_path / "stages.toml"
    stage_file.write_text("[[module1.stages]]\nnumber = 4\nname = \"Engagement Model\"\nmax_s = 5\n")
    definitions = load_definitions(stage_file)
    assert definitions.stage("module1", 4) == StageDef(4, "Engagement Model", "", None, 5.0)
    time = SteppedClock()
    tracker = _tracker(status_path, time, definitions)
    tracker.stage_start(4, "Analysing", "alice")
    tracker.stage_start(3, "Indexing", "bob")
    time.advance(6)
    states = {stage.username: (stage.stage_name, stage.state) for stage in tracker.live()}
    assert states == {"alice": ("Engagement Model", "stalled"), "bob": ("Vector Database", "running")}
