"""Guarantee 1: every transition from any process is logged exactly once, in order, in the exact format."""

from __future__ import annotations

import time
from pathlib import Path

from content_miner.tracker import MinerStageReporter, MinerStageTracker
from support.tracker import Collected, finish, start_proc


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


def _overflow_the_ring(status_path: Path, collected: Collected) -> tuple[MinerStageReporter, MinerStageTracker]:
    """A reporter, then 50 events after its cursor, of which the ring (20) keeps only the last 20."""
    MinerStageTracker(status_path, source="module1").stage_start(0, "seen")
    reporter = MinerStageReporter(MinerStageTracker(status_path, ring_size=20), collected)
    writer = MinerStageTracker(status_path, source="module1", ring_size=20)
    for i in range(50):
        writer.stage_start(1, f"burst {i}")
    writer.sync_history()  # the history has them all, so the ring may let them go
    writer.compact()  # folds the journal into the ring, which keeps only the last 20
    return reporter, writer


def test_events_that_left_the_ring_are_read_back_from_the_history_in_order(
    status_path: Path, collected: Collected
) -> None:
    reporter, writer = _overflow_the_ring(status_path, collected)
    assert len(writer.read_events()) == 20, "the ring kept only the last 20"
    reporter.poll_once()
    assert collected.lines == [("info", f"⚙️  Stage 1 - Data Scraping: burst {i}") for i in range(50)]
    assert reporter.missed == 0
    assert reporter.poll_once() == 0, "nothing is logged twice"


def test_events_in_neither_ring_nor_history_are_reported_in_one_warning_with_the_count(
    status_path: Path, collected: Collected
) -> None:
    reporter, writer = _overflow_the_ring(status_path, collected)
    writer.history.path.unlink()  # someone deleted the history after it had stored the burst
    reporter.poll_once()
    warnings = [text for level, text in collected.lines if level == "warning"]
    assert len(warnings) == 1 and "30 stage transitions were not logged" in warnings[0]
    infos = [text for level, text in collected.lines if level == "info"]
    assert infos == [f"⚙️  Stage 1 - Data Scraping: burst {i}" for i in range(30, 50)]
    assert collected.lines[0][0] == "warning", "the warning comes before the lines that follow the gap"
    assert reporter.missed == 30


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


def test_the_reporter_survives_a_corrupt_status_file(status_path: Path, collected: Collected) -> None:
    tracker = MinerStageTracker(status_path, source="module1")
    tracker.stage_start(1, "first")
    tracker.compact()
    reporter = MinerStageReporter(tracker, collected)
    reporter.start_monitoring(check_interval=0.05)
    status_path.write_bytes(b'{"format": "miner-stage-st')  # truncated by someone
    time.sleep(0.2)  # several polls over the broken file
    tracker.stage_complete(1, "second")
    assert collected.wait_for(1, timeout=5.0)
    reporter.stop_monitoring()
    assert collected.texts() == ["✅ Stage 1 Complete - Data Scraping - second"]
    assert reporter.running is False
