#!/usr/bin/env python3
"""The stage tracking system's test suite and demonstration (SPEC.md, "Testing").

    python test_stage_tracking.py          # run the tracker's tests, then show a whole lifecycle
    python test_stage_tracking.py --demo   # only the demonstration
    python -m pytest test_stage_tracking.py

The demonstration writes a successful and a failing pipeline through the tracker, as Module 1
does, and a real `MinerStageReporter` thread prints them in the miner's exact log format.
"""

from __future__ import annotations

import logging
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent
sys.path.insert(0, str(REPO / "Miners"))  # the spec's way: `Miners/` on the path

from miner_stage_tracker import MinerStageReporter, MinerStageTracker  # noqa: E402

SUCCESS = [
    (0, "Starting watchdog mode", "Watchdog mode initialized successfully", ""),
    (1, "Processing twitter account with fresh scraping", "Successfully processed twitter account", "elonmusk"),
    (2, "Processing and validating data", "Data validation successful", "elonmusk"),
    (3, "Indexing 50 posts in vector database", "Successfully indexed posts in vector database", "elonmusk"),
    (4, "Analyzing engagement data and patterns", "Successfully analyzed engagement data", "elonmusk"),
    (5, "Generating content recommendations", "Successfully generated content recommendations", "elonmusk"),
    (6, "Exporting content plan and results", "Successfully exported content plan", "elonmusk"),
]


def run_lifecycle(tracker: MinerStageTracker, pause: float = 0.0) -> None:
    """A successful pipeline for elonmusk, then a failing one for badusername."""
    for stage, start, done, user in SUCCESS:
        tracker.stage_start(stage, start, user)
        time.sleep(pause)
        tracker.stage_complete(stage, done, user)
    tracker.stage_complete(7, "Pipeline completed - 15 recommendations generated", "elonmusk")
    tracker.stage_start(1, "Processing twitter account with fresh scraping", "badusername")
    time.sleep(pause)
    tracker.stage_failed(1, "Failed to scrape profile", "badusername")
    tracker.stage_start(0, "Waiting for accounts to process")


class _Lines:
    def __init__(self) -> None:
        self.lines: list[tuple[str, str]] = []

    def info(self, msg: str) -> None:
        self.lines.append(("INFO", msg))

    def warning(self, msg: str) -> None:
        self.lines.append(("WARNING", msg))

    def error(self, msg: str) -> None:
        self.lines.append(("ERROR", msg))


def test_whole_lifecycle_is_logged_through_a_reporter_thread(tmp_path: Path) -> None:
    status = tmp_path / "miner_status.json"
    lines = _Lines()
    reporter = MinerStageReporter(MinerStageTracker(status, source="miner"), lines)
    reporter.start_monitoring(check_interval=1.0)
    run_lifecycle(MinerStageTracker(status, source="module1"))  # all within one poll interval
    reporter.stop_monitoring()
    assert len(lines.lines) == 2 * len(SUCCESS) + 4
    assert lines.lines[0] == ("INFO", "⚙️  Stage 0 - Initialization: Starting watchdog mode")
    assert ("INFO", "✅ Stage 7 Complete - Complete for elonmusk - Pipeline completed - 15 recommendations "
            "generated") in lines.lines
    assert lines.lines[-2] == ("ERROR", "❌ Stage 1 Failed - Data Scraping for badusername - Error: Failed to "
                               "scrape profile")
    assert lines.lines[-1] == ("INFO", "⚙️  Stage 0 - Initialization: Waiting for accounts to process")


def test_durations_of_the_lifecycle_reach_the_history(tmp_path: Path) -> None:
    tracker = MinerStageTracker(tmp_path / "miner_status.json", source="module1")
    run_lifecycle(tracker, pause=0.01)
    tracker.close()
    finished = [e for e in tracker.history.events() if e["status"] in ("completed", "failed")]
    with_start = [e for e in finished if e["stage_number"] != 7]  # stage 7 is reported complete only
    assert with_start and all(e["duration_s"] >= 0.01 for e in with_start)


def demo() -> None:
    handler = logging.StreamHandler(sys.stdout)
    handler.setFormatter(logging.Formatter("[%(levelname)s] %(message)s"))
    operator = logging.getLogger("demo.miner")
    operator.addHandler(handler)
    operator.setLevel(logging.INFO)
    operator.propagate = False
    with tempfile.TemporaryDirectory(prefix="stage-demo-") as data:
        status = Path(data) / "miner_status.json"
        reporter = MinerStageReporter(MinerStageTracker(status, source="miner"), operator)
        print(f"\n--- demonstration: Module 1 writes to {status}; the reporter thread logs ---")
        reporter.start_monitoring(check_interval=0.25)
        module1 = MinerStageTracker(status, source="module1")
        run_lifecycle(module1, pause=0.05)
        module1.close()
        time.sleep(0.3)
        reporter.stop_monitoring()
        print("\n--- stage durations from the history (seconds) ---")
        for name, figures in module1.history.durations().items():
            print(f"{name:<22} runs {figures['count']}  mean {figures['mean_s']:.3f}  max {figures['max_s']:.3f}")


if __name__ == "__main__":
    exit_code = 0
    if "--demo" not in sys.argv:
        try:
            import pytest
        except ImportError:
            print("test_stage_tracking.py: the tests need pytest: install the dev extra "
                  "(pip install -e '.[dev]'), or run `python test_stage_tracking.py --demo` for the "
                  "demonstration alone", file=sys.stderr)
            sys.exit(2)
        exit_code = pytest.main(["-q", str(REPO / "tests" / "tracker"), __file__])
    demo()
    sys.exit(int(exit_code))
