"""Guarantee 1: every transition from any process is logged exactly once, in order, in the exact format."""

from __future__ import annotations

from pathlib import Path

from content_miner.tracker import MinerStageReporter, MinerStageTracker, Retention
from support.tracker import Collected, SteppedClock, finish, start_proc
from support.waiting import wait_for


def test_exact_log_lines_and_levels(status_path: Path, collected: Collected) -> None:
    tracker = MinerStageTracker(status_path, source="module1")
    reporter = MinerStageReporter(tracker, collected)
    tracker.stage_start(3, "Indexing 50 posts in vector database", "elonmusk")
    tracker.stage_complete(3, "Successfully indexed posts in vector database", "elonmusk")
    tracker.stage_failed(1, "Failed to scrape profile", "badusername")
    tracker.stage_start(0, "Waiting for accounts to process")
    tracker.stage_failed(2, "Error: already prefixed", "x")
    reporter.poll_once()
    assert collected.lines == [
        ("info", "⚙️  Stage 3 - Vector Database for elonmusk: Indexing 50 posts in vector database"),
        ("info", "✅ Stage 3 Complete - Vector Database for elonmusk - Successfully indexed posts in vector database"),
        ("error", "❌ Stage 1 Failed - Data Scraping for badusername - Error: Failed to scrape profile"),
        ("info", "⚙️  Stage 0 - Initialization: Waiting for accounts to process"),
        ("error", "❌ Stage 2 Failed - Data Retrieval for x - Error: already prefixed"),
    ]


def test_control_characters_cannot_forge_or_colour_a_line(status_path: Path, collected: Collected) -> None:
    tracker = MinerStageTracker(status_path, source="module1")
    reporter = MinerStageReporter(tracker, collected)
    tracker.stage_start(1, "ok\n[ERROR] ❌ Stage 9 Failed - forged", "na\nme")
    tracker.stage_failed(2, "\x1b[32mgreen\x1b[0m \u202eevil", "bob")
    reporter.poll_once()
    assert collected.lines == [
        ("info", "⚙️  Stage 1 - Data Scraping for na\\nme: ok\\n[ERROR] ❌ Stage 9 Failed - forged"),
        ("error", "❌ Stage 2 Failed - Data Retrieval for bob - Error: \\x1b[32mgreen\\x1b[0m \\u202eevil"),
    ]


def test_stages_much_shorter_than_the_poll_interval_are_all_logged_in_order(
    status_path: Path, collected: Collected
) -> None:
    tracker = MinerStageTracker(status_path, source="miner")
    reporter = MinerStageReporter(tracker, collected)
    reporter.start_monitoring(check_interval=1.0)
    try:
        finish(start_proc("stages", status_path, "alice"))  # 14 transitions in a few milliseconds
        assert collected.wait_for(14, timeout=5.0)
    finally:
        reporter.stop_monitoring()
    names = ["Data Scraping", "Data Retrieval", "Vector Database", "Time Series Analysis",
             "Content Generation", "Exportation", "Complete"]
    expected = []
    for stage, name in enumerate(names, start=1):
        expected.append(f"⚙️  Stage {stage} - {name} for alice: working on stage {stage}")
        expected.append(f"✅ Stage {stage} Complete - {name} for alice - stage {stage} done")
    assert collected.texts() == expected, "each transition exactly once, in order"
    assert reporter.poll_once() == 0, "nothing is logged twice"


def test_transitions_from_several_processes_are_logged_once_each(status_path: Path, collected: Collected) -> None:
    tracker = MinerStageTracker(status_path, source="miner")
    reporter = MinerStageReporter(tracker, collected)
    reporter.start_monitoring(check_interval=0.05)
    procs = [start_proc("write", status_path, f"w{n}", 100, 0.001) for n in range(4)]
    for proc in procs:
        finish(proc)
    assert collected.wait_for(400, timeout=10.0)
    reporter.stop_monitoring()
    texts = collected.texts()
    assert len(texts) == 400 and len(set(texts)) == 400
    for n in range(4):  # each writer's own events keep their order
        mine = [int(text.rsplit(" ", 1)[1]) for text in texts if f"w{n} event" in text]
        assert mine == list(range(100))


def test_the_reporter_starts_at_the_current_end(status_path: Path, collected: Collected) -> None:
    tracker = MinerStageTracker(status_path, source="module1")
    tracker.stage_start(1, "old news", "alice")
    reporter = MinerStageReporter(tracker, collected)
    tracker.stage_complete(1, "fresh", "alice")
    reporter.poll_once()
    assert collected.texts() == ["✅ Stage 1 Complete - Data Scraping for alice - fresh"]


def _days_of_events(status_path: Path, time: SteppedClock, days: int, per_day: int) -> MinerStageTracker:
    writer = MinerStageTracker(status_path, source="module1", clock=time.clock)
    for n in range(days * per_day):
        writer.stage_start(1, f"event {n}")
        time.advance(86400 / per_day)
    return writer


def test_retention_keeps_n_days_and_at_most_m_rows(status_path: Path) -> None:
    time = SteppedClock()
    _days_of_events(status_path, time, days=5, per_day=30)
    owner = MinerStageTracker(status_path, source="miner", clock=time.clock,
                              retention=Retention(keep_days=2, max_rows=1000))  # writes nothing itself
    wait_for(lambda: owner.read_events()[0]["seq"] > 1, timeout=10, what="the first pruning, at start-up")
    kept = owner.read_events()
    assert all(e["timestamp"] >= time.now - 2 * 86400 for e in kept)
    assert kept[0]["timestamp"] < time.now - 2 * 86400 + 86400 / 30 * 2, "only what was too old went"
    assert [e["seq"] for e in kept] == list(range(kept[0]["seq"], 151)), "the newest are all there"
    assert owner._writer.prune(Retention(keep_days=2, max_rows=10)) == len(kept) - 10
    assert [e["seq"] for e in owner.read_events()] == list(range(141, 151))


def test_retention_never_removes_what_the_reporter_has_not_logged(status_path: Path, collected: Collected) -> None:
    time = SteppedClock()
    owner = MinerStageTracker(status_path, source="miner", clock=time.clock)
    reporter = MinerStageReporter(owner, collected)
    _days_of_events(status_path, time, days=3, per_day=10)  # 30 events the reporter has not logged yet
    assert owner._writer.prune(Retention(keep_days=1, max_rows=1000)) == 0
    reporter.poll_once()
    assert len(collected.lines) == 30 and reporter.missed == 0
    assert owner._writer.prune(Retention(keep_days=1, max_rows=1000)) == 20, "logged: now they may go"


def test_events_a_reader_never_got_to_are_reported_in_one_warning_with_the_count(
    status_path: Path, collected: Collected
) -> None:
    time = SteppedClock()
    MinerStageTracker(status_path, source="module1", clock=time.clock).stage_start(0, "seen")
    reporter = MinerStageReporter(MinerStageTracker(status_path), collected)  # not the pruning tracker's reporter
    writer = _days_of_events(status_path, time, days=5, per_day=10)
    MinerStageTracker(status_path, clock=time.clock)._writer.prune(Retention(keep_days=2, max_rows=1000))
    reporter.poll_once()
    warnings = [text for level, text in collected.lines if level == "warning"]
    assert warnings == ["⚠️  Stage tracking: 30 stage transitions were not logged (the stage log no longer had "
                        "them when the reporter got to them)"]
    assert collected.lines[0][0] == "warning", "the warning comes before the lines that follow the gap"
    infos = [text for level, text in collected.lines if level == "info"]
    assert infos == [f"⚙️  Stage 1 - Data Scraping: event {n}" for n in range(30, 50)]
    assert reporter.missed == 30 and writer.read_events()[-1]["seq"] == 51


def test_stop_monitoring_logs_what_arrived_since_the_last_poll(status_path: Path, collected: Collected) -> None:
    tracker = MinerStageTracker(status_path, source="module1")
    reporter = MinerStageReporter(tracker, collected)
    reporter.start_monitoring(check_interval=30.0)
    tracker.stage_start(6, "Exporting content plan and results", "alice")
    reporter.stop_monitoring()
    assert collected.texts() == ["⚙️  Stage 6 - Exportation for alice: Exporting content plan and results"]


def test_a_logger_that_raises_does_not_stop_the_reporter(status_path: Path, collected: Collected) -> None:
    class Flaky(Collected):
        def info(self, msg: str) -> None:
            if "boom" in msg:
                raise RuntimeError("logger broke")
            super().info(msg)

    flaky = Flaky()
    tracker = MinerStageTracker(status_path, source="module1")
    reporter = MinerStageReporter(tracker, flaky)
    reporter.start_monitoring(check_interval=0.05)
    tracker.stage_start(1, "boom")
    tracker.stage_start(2, "after the failure is fine")
    tracker.stage_start(3, "still running")
    assert flaky.wait_for(2, timeout=5.0)
    reporter.stop_monitoring()
    assert reporter.logged == 3
    assert flaky.texts()[-1].endswith("still running")


def test_the_reporter_survives_a_corrupt_log(status_path: Path, collected: Collected) -> None:
    tracker = MinerStageTracker(status_path, source="module1")
    tracker.stage_start(1, "first")
    tracker.close()
    reporter = MinerStageReporter(MinerStageTracker(status_path), collected)
    reporter.start_monitoring(check_interval=0.05)
    tracker.log_path.write_bytes(b"\x00garbage" * 100)  # someone wrote over it
    polls = reporter.polls
    wait_for(lambda: reporter.polls >= polls + 3, timeout=10, what="polls over the broken log")
    tracker.stage_complete(1, "second")  # the writer sets the damage aside and goes on
    assert collected.wait_for(2, timeout=5.0)
    reporter.stop_monitoring()
    assert collected.lines == [("warning", "⚠️  Stage tracking: the stage log was recreated; following the new one"),
                               ("info", "✅ Stage 1 Complete - Data Scraping - second")]
    assert reporter.running is False


def test_a_dead_reporter_thread_restarts_and_logs_each_transition_once(status_path: Path) -> None:
    class Crash(BaseException):
        """Not an Exception: escapes every `except Exception` and ends the thread."""

    class CrashesOnce(Collected):
        crashed = False

        def info(self, msg: str) -> None:
            if "boom" in msg and not self.crashed:
                self.crashed = True
                raise Crash()
            super().info(msg)

    logger = CrashesOnce()
    tracker = MinerStageTracker(status_path, source="module1")
    reporter = MinerStageReporter(tracker, logger)
    tracker.stage_start(1, "before")
    tracker.stage_start(2, "boom")
    tracker.stage_start(3, "after")
    reporter.start_monitoring(check_interval=0.05)
    assert logger.wait_for(3, timeout=10.0)
    reporter.stop_monitoring()
    assert [text.rsplit(" ", 1)[1] for text in logger.texts()] == ["before", "boom", "after"]
    assert logger.crashed and reporter._thread is None
