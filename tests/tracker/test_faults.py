"""Guarantee 5 and the issue's faults: damage is set aside and recreated, the operator is told once
(with what was kept and how many events are known lost), numbering never goes back, and nothing
raises into the pipeline. Plus clock steps and a dead housekeeping thread."""

from __future__ import annotations

import json
import logging
import os
import shutil
import sqlite3
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from content_miner.tracker import MinerStageReporter, MinerStageTracker
from support.tracker import Collected, SteppedClock, start_proc
from support.waiting import wait_for

REPO = Path(__file__).resolve().parents[2]


def _aside_copies(path: Path) -> list[Path]:
    return sorted(p for p in path.parent.glob(f"{path.name}.corrupt-*") if not p.name.endswith(("-wal", "-shm")))


def _warnings(caplog: pytest.LogCaptureFixture) -> list[str]:
    return [record.getMessage() for record in caplog.records
            if record.name == "content_miner.tracker" and record.levelno == logging.WARNING]


def _written(status_path: Path, count: int) -> MinerStageTracker:
    """A log with `count` events (seq 1..count), closed: no connection open, the snapshot written."""
    tracker = MinerStageTracker(status_path, source="module1")
    for i in range(count):
        tracker.stage_start(1, f"before {i}", "alice")
    tracker.close()
    return tracker


# -- the database -------------------------------------------------------------------------------------


@pytest.mark.parametrize("garbage", [b"\x00\xff not sqlite at all" * 50, b"SQLite format 3\x00" + b"\x07" * 4000,
                                     b""], ids=["binary", "bad-pages", "empty"])
def test_a_corrupt_log_is_kept_aside_and_a_new_one_continues_the_numbering(
        status_path: Path, garbage: bytes, caplog: pytest.LogCaptureFixture, collected: Collected) -> None:
    tracker = _written(status_path, 3)
    reporter = MinerStageReporter(MinerStageTracker(status_path), collected)
    tracker.log_path.write_bytes(garbage)
    tracker.stage_complete(1, "after", "alice")
    tracker.stage_start(2, "later", "alice")
    assert [(e["seq"], e["message"]) for e in tracker.read_events()] == [(4, "after"), (5, "later")]
    (aside,) = _aside_copies(tracker.log_path)
    assert aside.read_bytes() == garbage, "the damaged log is kept for inspection, byte for byte"
    (warning,) = _warnings(caplog)
    assert f"kept it aside as {aside.name}" in warning and "3 earlier events are known lost" in warning
    assert "continues at seq 4" in warning
    reporter.poll_once()
    assert collected.texts()[-2:] == ["✅ Stage 1 Complete - Data Scraping for alice - after",
                                      "⚙️  Stage 2 - Data Retrieval for alice: later"]


def test_a_sqlite_file_that_is_not_a_stage_log_is_kept_aside(status_path: Path, caplog) -> None:
    status_path.parent.mkdir(parents=True)
    foreign = sqlite3.connect(status_path.with_name("stage_log.sqlite3"))
    foreign.execute("CREATE TABLE someone_elses (x)")
    foreign.commit()
    foreign.close()
    tracker = MinerStageTracker(status_path, source="module1")
    tracker.stage_start(1, "one")
    assert [e["message"] for e in tracker.read_events()] == ["one"]
    (aside,) = _aside_copies(tracker.log_path)
    assert sqlite3.connect(aside).execute("SELECT name FROM sqlite_master").fetchall() == [("someone_elses",)]
    assert len(_warnings(caplog)) == 1


def test_a_deleted_log_is_recreated_loudly_and_numbering_continues(
        status_path: Path, caplog: pytest.LogCaptureFixture, collected: Collected) -> None:
    """The issue's case: a deleted history was recreated silently and seq 1-116 were gone."""
    tracker = MinerStageTracker(status_path, source="module1")
    reporter = MinerStageReporter(tracker, collected)
    for i in range(116):
        tracker.stage_start(1, f"event {i}")
    reporter.poll_once()
    tracker.log_path.unlink()  # while this process has it open
    tracker.stage_start(2, "after the deletion")
    assert [(e["seq"], e["message"]) for e in tracker.read_events()] == [(117, "after the deletion")]
    (warning,) = _warnings(caplog)
    assert "was missing (deleted?)" in warning and "116 earlier events are known lost" in warning
    reporter.poll_once()
    assert collected.lines[-2:] == [
        ("warning", "⚠️  Stage tracking: the stage log was recreated; following the new one"),
        ("info", "⚙️  Stage 2 - Data Retrieval: after the deletion")]
    assert reporter.missed == 0, "117 follows 116: nothing was skipped"
    tracker.close()
    for leftover in tracker.log_path.parent.glob("stage_log.sqlite3*"):  # now with no process running
        leftover.unlink()
    fresh = MinerStageTracker(status_path, source="module1")
    fresh.stage_start(3, "from a new process")
    assert fresh.read_events()[-1]["seq"] == 118, "the status file remembered how far the log had got"
    assert "117 earlier events are known lost" in _warnings(caplog)[-1]


@pytest.mark.parametrize("while_open", [True, False], ids=["while-open", "while-closed"])
def test_a_log_replaced_by_an_older_copy_never_reuses_a_seq(status_path: Path, while_open: bool, caplog) -> None:
    tracker = MinerStageTracker(status_path, source="module1")
    for i in range(5):
        tracker.stage_start(1, f"event {i}")
    copy = status_path.with_name("copy.sqlite3")
    source, backup = sqlite3.connect(tracker.log_path), sqlite3.connect(copy)
    source.backup(backup)
    source.close()  # no other connection stays open: see the README on restoring a copy
    backup.close()
    for i in range(5, 10):
        tracker.stage_start(1, f"event {i}")
    if not while_open:
        tracker.close()
        tracker = MinerStageTracker(status_path, source="module1")  # knows the log only from the status file
    os.replace(copy, tracker.log_path)
    tracker.stage_start(2, "after the restore")
    events = tracker.read_events()
    assert [(e["seq"], e["message"]) for e in events[-2:]] == [(5, "event 4"), (11, "after the restore")], \
        "the copy is read as it is (not through the old file's WAL), and seq 6-10 are never used again"
    (warning,) = _warnings(caplog)
    assert "ends at seq 5 but seq 10 had been written" in warning and "5 events are known lost" in warning
    assert sqlite3.connect(tracker.log_path).execute("PRAGMA integrity_check").fetchone() == ("ok",)


@pytest.mark.parametrize("mode", [0o000, 0o444], ids=["unreadable", "read-only"])
def test_a_log_this_process_may_not_use_is_kept_aside_and_replaced(status_path: Path, mode: int) -> None:
    """The status file's old fault: unusable for its permissions, never set aside, events queued forever."""
    tracker = _written(status_path, 3)
    tracker.log_path.chmod(mode)
    result = _run_without_root_override(
        "from content_miner.tracker import MinerStageTracker\n"
        f"t = MinerStageTracker({str(status_path)!r}, source='module1')\n"
        "t.stage_start(2, 'after'); t.stage_start(3, 'later')\n"
        "print(json.dumps([(e['seq'], e['message']) for e in t.read_events()]))")
    assert json.loads(result.stdout) == [[4, "after"], [5, "later"]]
    warnings = [line for line in result.stderr.splitlines() if "Stage tracking" in line]
    assert len(warnings) == 1 and "(permission denied)" in warnings[0], result.stderr
    assert "3 earlier events are known lost" in warnings[0]
    (aside,) = _aside_copies(tracker.log_path)
    aside.chmod(0o600)
    assert len(sqlite3.connect(aside).execute("SELECT * FROM events").fetchall()) == 3, "kept whole"


def test_a_log_replaced_while_a_reader_opens_it_is_not_taken_for_the_old_one(status_path: Path, monkeypatch) -> None:
    """Found by a flaky run: the reader took the file's identity, the writer set the damaged file aside and put
    a new log in its place, the reader connected to the new one under the old identity, and at its next read
    moved the new log's live WAL aside as its own stale one: every event since the repair was lost."""
    from content_miner.tracker import stage_log

    writer = _written(status_path, 1)
    writer.log_path.write_bytes(b"\x00garbage" * 100)
    reader = MinerStageTracker(status_path)
    real_connect, armed = stage_log._connect, [True]

    def connect_after_a_repair(path: Path, wait_s: float) -> sqlite3.Connection:
        if armed.pop() if armed else False:
            writer.stage_complete(1, "second")  # the repair happens between the reader's two steps
        return real_connect(path, wait_s)

    monkeypatch.setattr(stage_log, "_connect", connect_after_a_repair)
    assert [e["message"] for e in reader.read_events()] == ["second"]
    writer.stage_start(2, "third")
    assert [e["message"] for e in reader.read_events()] == ["second", "third"]
    assert [e["message"] for e in writer.read_events()] == ["second", "third"]


def test_a_directory_in_place_of_the_log_is_moved_aside(status_path: Path, caplog) -> None:
    log_path = status_path.with_name("stage_log.sqlite3")
    log_path.mkdir(parents=True)
    (log_path / "keep.txt").write_text("someone's file")
    tracker = MinerStageTracker(status_path, source="module1")
    tracker.stage_start(1, "through the directory")
    assert [e["message"] for e in tracker.read_events()] == ["through the directory"]
    (aside,) = _aside_copies(log_path)
    assert (aside / "keep.txt").read_text() == "someone's file"
    (warning,) = _warnings(caplog)
    assert "had a directory in its place" in warning and aside.name in warning


# -- the status file (the snapshot) ---------------------------------------------------------------------


def test_garbage_over_the_status_file_loses_no_event(status_path: Path, collected: Collected, caplog) -> None:
    """The issue's case: garbage over the status file lost the 2 events only it held."""
    tracker = MinerStageTracker(status_path, source="module1")
    reporter = MinerStageReporter(tracker, collected)
    tracker.stage_start(1, "one")
    tracker.stage_complete(1, "two")
    status_path.write_bytes(b'{"format": "miner-stage-st')
    tracker.stage_start(2, "three")
    reporter.poll_once()
    assert [text.rsplit(" ", 1)[1] for text in collected.texts()] == ["one", "two", "three"]
    tracker.close()
    assert [e["message"] for e in json.loads(status_path.read_bytes())["events"]] == ["one", "two", "three"]
    assert _warnings(caplog) == [], "nothing was lost: the snapshot is simply rebuilt"


def test_a_directory_in_place_of_the_status_file_is_moved_aside(status_path: Path, caplog) -> None:
    status_path.mkdir(parents=True)
    (status_path / "keep.txt").write_text("someone's file")
    tracker = MinerStageTracker(status_path, source="module1")
    tracker.stage_start(1, "through the directory")
    tracker.close()
    assert json.loads(status_path.read_bytes())["events"][0]["message"] == "through the directory"
    (aside,) = _aside_copies(status_path)
    assert (aside / "keep.txt").read_text() == "someone's file"
    assert len(_warnings(caplog)) == 1


def test_a_read_only_status_file_is_still_replaced(status_path: Path) -> None:
    tracker = _written(status_path, 1)
    status_path.chmod(0o444)
    tracker.stage_start(2, "two")
    tracker.close()
    assert [e["message"] for e in json.loads(status_path.read_bytes())["events"]] == ["before 0", "two"]


# -- places that cannot be written ------------------------------------------------------------------------


def test_an_unwritable_location_never_raises_and_never_blocks(tmp_path: Path, caplog) -> None:
    blocker = tmp_path / "a-file"
    blocker.write_text("not a directory")
    tracker = MinerStageTracker(blocker / "data" / "miner_status.json", source="module1")
    began = time.monotonic()
    for i in range(20):
        tracker.stage_start(1, f"nowhere {i}")
    assert time.monotonic() - began < 2.0
    stats = tracker.stats()
    assert stats["write_errors"] >= 1 and stats["pending"] == 20
    assert tracker.read_events() == [] and tracker.get_current_stage()["status"] == "idle"
    assert len(_warnings(caplog)) == 1, "one warning for the incident, not one per call"
    tracker.close()
    assert "20 stage events are lost" in _warnings(caplog)[-1], "at exit: never silently"


def _run_without_root_override(code: str) -> subprocess.CompletedProcess[str]:
    """Run `code` in a process that file permissions apply to (as root: without the capabilities that skip them)."""
    prefix: list[str] = []
    if os.geteuid() == 0:
        if not shutil.which("setpriv"):
            pytest.skip("running as root without setpriv: cannot make permissions apply to a writer")
        prefix = ["setpriv", "--bounding-set=-dac_override,-dac_read_search,-fowner", "--inh-caps=-all"]
    result = subprocess.run([*prefix, sys.executable, "-c", "import json, time\n" + code], cwd=REPO,
                            capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    assert "Traceback" not in result.stderr
    return result


def test_a_read_only_directory_never_raises_never_blocks_and_says_what_was_lost(tmp_path: Path) -> None:
    data = tmp_path / "data"
    data.mkdir()
    data.chmod(0o555)
    result = _run_without_root_override(
        "from content_miner.tracker import MinerStageTracker\n"
        f"t = MinerStageTracker({str(data / 'miner_status.json')!r}, source='module1')\n"
        "began = time.monotonic()\n"
        "for i in range(10): t.stage_start(1, f'denied {i}')\n"
        "print(json.dumps({'seconds': time.monotonic() - began, **t.stats()}))")
    report = json.loads(result.stdout)
    assert report["seconds"] < 2.0 and report["pending"] == 10 and report["write_errors"] >= 1
    warnings = [line for line in result.stderr.splitlines() if "Stage tracking" in line]
    assert len(warnings) == 2, result.stderr
    assert "cannot write the stage log" in warnings[0]
    assert "10 stage events are lost" in warnings[1], "at exit: not silently"


@pytest.fixture
def tiny_disk(tmp_path: Path) -> Iterator[Path]:
    """A 2 MB tmpfs (root only)."""
    mount = tmp_path / "tiny"
    mount.mkdir()
    if os.geteuid() != 0:
        pytest.skip("mounting a tmpfs needs root")
    done = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=2m", "tmpfs", str(mount)], capture_output=True,
                          text=True)
    if done.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here: {done.stderr.strip()}")
    try:
        yield mount
    finally:
        subprocess.run(["umount", "-l", str(mount)], check=False)


def test_a_full_disk_delays_events_and_loses_none(tiny_disk: Path, caplog) -> None:
    tracker = MinerStageTracker(tiny_disk / "miner_status.json", source="module1")
    tracker.stage_start(0, "before the disk filled up")
    filler = tiny_disk / "filler"
    with open(filler, "wb") as out:
        try:
            while True:
                out.write(b"\0" * 65536)
                out.flush()
        except OSError:
            pass
    for i in range(40):
        tracker.stage_start(1, f"while full {i}", details={"blob": "x" * 3000})
    assert tracker.stats()["pending"] > 0, "the disk refused them"
    (warning,) = _warnings(caplog)
    assert "full" in warning and "wait in memory" in warning
    filler.unlink()
    wait_for(lambda: tracker.stats()["pending"] == 0, timeout=20, what="the retries")
    messages = [e["message"] for e in tracker.read_events()]
    assert messages == ["before the disk filled up"] + [f"while full {i}" for i in range(40)]
    tracker.close()


# -- clocks and threads ------------------------------------------------------------------------------------


def test_wall_clock_steps_during_a_stage_do_not_distort_durations(status_path: Path) -> None:
    time_ = SteppedClock()
    tracker = MinerStageTracker(status_path, source="module1", clock=time_.clock)
    tracker.stage_start(3, "indexing", "alice")
    time_.advance(5)
    time_.step_wall(+3600)
    tracker.stage_complete(3, "indexed", "alice")
    tracker.stage_start(4, "analysing", "alice")
    time_.advance(2)
    time_.step_wall(-3600)
    tracker.stage_complete(4, "analysed", "alice")
    start3, done3, start4, done4 = tracker.read_events()
    assert (done3["duration_s"], done4["duration_s"]) == (5, 2), "measured on the monotonic clock"
    assert done3["timestamp"] - start3["timestamp"] == 3605, "event times stay wall-clock, for display"
    assert tracker.read_status()["current"]["module1"]["alice"]["last_duration_s"] == 2
    assert [e["seq"] for e in tracker.history.events(limit=2)] == [3, 4], "the last events by seq, not by time"
    # Started on another clock (no shared monotonic time): the duration is from the wall clock, never < 0.
    other = SteppedClock(wall=time_.now - 10, clock_id="another")
    MinerStageTracker(status_path, source="module1", clock=other.clock).stage_start(5, "s", "bob")
    tracker.stage_complete(5, "closed by another process", "bob")
    assert tracker.read_events()[-1]["duration_s"] == 10


def test_a_dead_housekeeping_thread_restarts_and_retries_the_queue(status_path: Path, caplog) -> None:
    tracker = MinerStageTracker(status_path, source="module1")
    tracker.stage_start(0, "first")
    thread = tracker._writer.thread
    real_tick, died = thread.tick, threading.Event()

    def dies_once() -> bool:
        if not died.is_set():
            died.set()
            raise RuntimeError("a bug in housekeeping")
        return real_tick()

    thread.tick = dies_once
    holder = start_proc("hold-lock", status_path)
    try:
        tracker.stage_start(1, "queued while locked")  # the only call: from now on only the thread can write it
        assert died.wait(10)
        assert tracker.stats()["pending"] == 1
    finally:
        holder.kill()
        holder.wait()
    wait_for(lambda: tracker.stats()["pending"] == 0, timeout=10, what="the restarted thread's retry")
    assert [e["message"] for e in tracker.read_events()] == ["first", "queued while locked"]
    assert tracker.stats()["thread_restarts"] == 1
    assert [w for w in _warnings(caplog) if "thread died" in w] == [
        "⚠️  Stage tracking: the stage-tracker-housekeeping thread died (RuntimeError('a bug in housekeeping')); "
        "started a new one"]
