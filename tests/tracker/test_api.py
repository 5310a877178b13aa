"""The tracker's public API, in one process: what an event records, durations, reads, reset."""

from __future__ import annotations

import json
import math
import os
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest

import content_miner.tracker as mst
from content_miner.tracker import MinerStageTracker
from content_miner.tracker.stages import STAGE_NAMES
from support.tracker import SteppedClock

REPO = Path(__file__).resolve().parents[2]


def test_stage_names_are_the_designed_ones_and_unknown_numbers_read_stage_n(status_path: Path) -> None:
    assert STAGE_NAMES == {
        0: "Initialization", 1: "Data Scraping", 2: "Data Retrieval", 3: "Vector Database",
        4: "Time Series Analysis", 5: "Content Generation", 6: "Exportation", 7: "Complete",
    }
    tracker = MinerStageTracker(status_path, source="t")
    tracker.stage_start(12, "beyond the table")
    (event,) = tracker.read_events()
    assert event["stage_name"] == "Stage 12"


def test_every_event_records_the_documented_fields(status_path: Path) -> None:
    time = SteppedClock()
    tracker = MinerStageTracker(status_path, source="module1", clock=time.clock)
    tracker.stage_start(3, "Indexing 50 posts in vector database", "elonmusk", {"posts": 50})
    time.advance(2.5)
    tracker.stage_complete(3, "Successfully indexed posts in vector database", "elonmusk")
    start, done = tracker.read_events()
    for event in (start, done):
        for key in ("seq", "timestamp", "stage_number", "stage_name", "status", "message",
                    "username", "details", "source", "pid"):
            assert key in event, key
        assert event["source"] == "module1" and event["pid"] == os.getpid()
        assert event["stage_name"] == "Vector Database" and event["username"] == "elonmusk"
    assert (start["status"], done["status"]) == ("running", "completed")
    assert start["details"] == {"posts": 50}
    assert done["seq"] == start["seq"] + 1
    assert done["duration_s"] == 2.5 == done["timestamp"] - start["timestamp"]
    assert start["duration_s"] is None


def test_duration_matches_the_start_of_the_same_source_user_and_stage(status_path: Path) -> None:
    time = SteppedClock()
    tracker = MinerStageTracker(status_path, clock=time.clock)
    tracker.stage_start(2, "a", "alice", source="module1")
    time.advance(1)
    tracker.stage_start(2, "b", "bob", source="module1")
    time.advance(2)
    tracker.stage_start(2, "c", "alice", source="module2")
    time.advance(4)
    tracker.stage_failed(2, "bob broke", "bob", source="module1")
    time.advance(8)
    tracker.stage_complete(2, "alice done", "alice", source="module1")
    tracker.stage_complete(5, "never started", "alice", source="module1")
    events = {(e["source"], e["username"], e["status"], e["stage_number"]): e for e in tracker.read_events()}
    assert events[("module1", "bob", "failed", 2)]["duration_s"] == 6
    assert events[("module1", "alice", "completed", 2)]["duration_s"] == 15
    assert events[("module1", "alice", "completed", 5)]["duration_s"] is None


@pytest.mark.parametrize(
    "details, expected_type",
    [
        ({"posts": 3, "nested": {"ok": [1, 2]}}, dict),
        ({"when": object()}, str),  # not JSON-able
        ({1, 2, 3}, str),  # not a dict
        (b"\x00\xff", str),
        ({"x": math.nan}, str),  # NaN is not JSON
        ({"big": "x" * 10_000}, str),  # over the size cap
        ("plain text", str),
    ],
)
def test_details_keep_json_dicts_and_store_anything_else_as_text(status_path, details, expected_type) -> None:
    tracker = MinerStageTracker(status_path, source="t")
    tracker.stage_start(1, "with details", details=details)
    (event,) = tracker.read_events()
    assert isinstance(event["details"], expected_type)
    tracker.close()
    json.loads(status_path.read_bytes())  # the status file stays valid JSON whatever the details were


def test_recursive_and_unprintable_details_never_raise(status_path: Path) -> None:
    class Hostile:
        def __str__(self) -> str:
            raise RuntimeError("no")

    loop: dict = {}
    loop["self"] = loop
    tracker = MinerStageTracker(status_path, source="t")
    tracker.stage_start(1, "loop", details=loop)
    tracker.stage_start(1, Hostile(), username=Hostile(), details=Hostile())  # type: ignore[arg-type]
    tracker.stage_start("three", None, None)  # type: ignore[arg-type]
    assert [e["stage_number"] for e in tracker.read_events()] == [1, 1, "three"]


def test_current_state_is_per_source_and_account_with_since_and_last_duration(status_path: Path) -> None:
    tracker = MinerStageTracker(status_path)
    tracker.stage_start(1, "scraping", "alice", source="module1")
    tracker.stage_complete(1, "scraped", "alice", source="module1")
    tracker.stage_start(2, "parsing", "alice", source="module1")
    tracker.stage_start(1, "Rendering 15 images for alice", "alice", source="module2")
    current = tracker.read_status()["current"]
    alice1 = current["module1"]["alice"]
    assert (alice1["stage_name"], alice1["status"]) == ("Data Retrieval", "running")
    assert alice1["last_duration_s"] is not None and alice1["since"] > 0
    assert current["module2"]["alice"]["message"] == "Rendering 15 images for alice"
    latest = tracker.get_current_stage()
    assert (latest["source"], latest["stage_number"], latest["status"]) == ("module2", 1, "running")
    assert tracker.get_current_stage(source="module1")["stage_name"] == "Data Retrieval"


def test_get_current_stage_is_idle_before_anything_happened(status_path: Path) -> None:
    current = MinerStageTracker(status_path).get_current_stage()
    assert current["status"] == "idle" and current["stage_number"] is None
    assert not status_path.exists()  # reading creates nothing


def test_read_events_after_a_sequence_number(status_path: Path) -> None:
    tracker = MinerStageTracker(status_path, source="t")
    for i in range(10):
        tracker.stage_start(1, f"m{i}")
    events = tracker.read_events(after_seq=6)
    assert [e["seq"] for e in events] == [7, 8, 9, 10]
    first_page = tracker.read_events(limit=4)
    assert [e["seq"] for e in first_page] == [1, 2, 3, 4]
    assert [e["seq"] for e in tracker.read_events(first_page[-1]["seq"], limit=4)] == [5, 6, 7, 8]


def test_reset_starts_fresh_but_keeps_numbering_and_history(status_path: Path) -> None:
    tracker = MinerStageTracker(status_path, source="t")
    tracker.stage_start(1, "before reset", "alice")
    tracker.reset()
    assert tracker.read_status()["current"] == {} and tracker.read_events() == []
    tracker.stage_start(2, "after reset", "bob")
    (event,) = tracker.read_events()
    assert event["seq"] == 2
    tracker.close()
    assert [e["message"] for e in tracker.history.events()] == ["before reset", "after reset"]


def test_the_status_file_is_one_valid_json_document_with_current_state_and_events(status_path: Path) -> None:
    tracker = MinerStageTracker(status_path, source="module1")
    tracker.stage_start(1, "scraping", "alice")
    tracker.close()
    document = json.loads(status_path.read_bytes())
    assert document["current"]["module1"]["alice"]["status"] == "running"
    assert [e["message"] for e in document["events"]] == ["scraping"]


def test_the_snapshot_keeps_the_recent_events_and_the_log_keeps_all(status_path: Path) -> None:
    tracker = MinerStageTracker(status_path, source="t")
    for i in range(1500):
        tracker.stage_start(i % 8, f"event {i}")
    tracker.close()
    assert sorted(p.name for p in status_path.parent.iterdir()) == ["miner_status.json", "stage_log.sqlite3"], \
        "one log and its snapshot: no journal, lock, marker or WAL left behind after close"
    document = json.loads(status_path.read_bytes())
    assert len(document["events"]) == 100 and document["last_seq"] == 1500
    assert document["events"][-1]["message"] == "event 1499"
    assert [e["message"] for e in tracker.history.events(limit=10_000)] == [f"event {i}" for i in range(1500)]
    assert [e["seq"] for e in tracker.read_events(1400)] == list(range(1401, 1501))


def test_module_functions_use_the_configured_data_dir_and_create_it(tmp_path, monkeypatch) -> None:
    monkeypatch.delenv("MINER_STATUS_FILE", raising=False)
    monkeypatch.setenv("MINER_DATA_DIR", str(tmp_path / "deep" / "data"))
    mst.stage_start(0, "Starting watchdog mode")
    assert mst.get_tracker().status_file == tmp_path / "deep" / "data" / "miner_status.json"
    assert mst.get_current_stage()["message"] == "Starting watchdog mode"
    monkeypatch.setenv("MINER_STATUS_FILE", str(tmp_path / "elsewhere" / "status.json"))
    mst.stage_complete(0, "Watchdog mode initialized successfully")
    assert mst.get_tracker().status_file == tmp_path / "elsewhere" / "status.json"
    assert mst.get_tracker().read_events()[0]["status"] == "completed"
    mst.reset_stages()
    assert mst.get_tracker().read_events() == []


def test_source_is_settable_per_process(tmp_path: Path) -> None:
    # A script that names no source takes $MINER_SOURCE; one that calls set_source is named by it.
    code = "import content_miner.tracker as m; m.stage_start(1, 'hi'); m.get_tracker().close()"
    env = {**os.environ, "MINER_DATA_DIR": str(tmp_path), "MINER_SOURCE": "module1"}
    env.pop("MINER_STATUS_FILE", None)
    subprocess.run([sys.executable, "-c", code], env=env, check=True)
    code2 = ("import content_miner.tracker as m; m.set_source('module2'); m.stage_start(1, 'hi'); "
             "m.get_tracker().close()")
    subprocess.run([sys.executable, "-c", code2], env=env, check=True)
    sources = [e["source"] for e in MinerStageTracker(tmp_path / "miner_status.json").read_events()]
    assert sources == ["module1", "module2"]


def test_importable_the_way_the_spec_miner_does_it() -> None:
    code = ("import sys; sys.path.insert(0, 'Miners'); import miner_stage_tracker as m; "
            "import content_miner.tracker as t; "
            "assert all(getattr(m, name) is getattr(t, name) for name in t.__all__); print(m.__file__)")
    out = subprocess.run([sys.executable, "-c", code], cwd=REPO, capture_output=True, text=True, check=True)
    assert Path(out.stdout.strip()).resolve() == REPO / "Miners" / "miner_stage_tracker.py"


def test_the_shim_falls_back_to_no_ops_without_the_tracker() -> None:
    code = (
        "import sys; sys.modules['content_miner.tracker'] = None\n"
        "from content_miner import stage_calls\n"
        "assert not stage_calls.TRACKING_AVAILABLE\n"
        "assert stage_calls.stage_start(1, 'x', 'u', {'a': 1}) is None\n"
        "stage_calls.stage_complete(1, 'x'); stage_calls.stage_failed(1, 'x'); stage_calls.set_source('m')\n"
        "print('ok')"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "ok"


def test_the_log_has_the_designed_schema_for_analytics(status_path: Path) -> None:
    """What issue 11 builds on: an events table numbered by the database, the live state per source
    and account, and indexes for per-stage and per-account questions."""
    tracker = MinerStageTracker(status_path, source="module1")
    tracker.stage_start(1, "one", "alice")
    tracker.close()
    db = sqlite3.connect(tracker.log_path)
    columns = [row[1] for row in db.execute("PRAGMA table_info(events)")]
    assert columns == ["seq", "ts", "source", "username", "stage_number", "stage_name", "status", "message",
                       "details", "pid", "duration_s"]
    assert [row[1] for row in db.execute("PRAGMA table_info(current)") if row[5]] == ["source", "username"]
    indexes = {row[1]: [c[2] for c in db.execute(f"PRAGMA index_info({row[1]})")]
               for row in db.execute("PRAGMA index_list(events)")}
    assert sorted(indexes.values()) == [["source", "stage_number", "ts"], ["username", "seq"]]
    assert db.execute("PRAGMA journal_mode").fetchone()[0] == "wal"


def test_the_spec_test_script_without_pytest_says_so_in_one_line(tmp_path: Path) -> None:
    """`python test_stage_tracking.py` in the venv of the README's first command (no dev extra)."""
    (tmp_path / "pytest.py").write_text("raise ImportError(\"No module named 'pytest'\")\n")
    env = {**os.environ, "PYTHONPATH": str(tmp_path), "PYTHONDONTWRITEBYTECODE": "1"}
    done = subprocess.run([sys.executable, str(REPO / "test_stage_tracking.py")], cwd=tmp_path, env=env,
                          capture_output=True, text=True, timeout=60)
    assert done.returncode == 2 and "Traceback" not in done.stderr, done.stderr
    (line,) = done.stderr.splitlines()
    assert "install the dev extra" in line and "--demo" in line
