"""Guarantees 2, 3 and 4 with real processes: many writers, a racing reader, SIGKILL, a stuck lock."""

from __future__ import annotations

import json
import os
import random
import signal
import threading
import time
from pathlib import Path

from content_miner.tracker import MinerStageTracker
from content_miner.tracker.journal import journal_path
from support.tracker import finish, start_proc


def _assert_contiguous(events: list[dict]) -> None:
    seqs = [e["seq"] for e in events]
    assert seqs == list(range(seqs[0], seqs[0] + len(seqs))), "sequence numbers must have no gaps"


def test_many_writer_processes_at_once_lose_no_event(status_path: Path) -> None:
    writers, per_writer = 6, 150
    procs = [start_proc("write", status_path, f"w{n}", per_writer) for n in range(writers)]
    for proc in procs:
        assert finish(proc).strip() == "done"
    tracker = MinerStageTracker(status_path)
    events = tracker.read_events()
    assert len(events) == writers * per_writer
    _assert_contiguous(events)
    for n in range(writers):
        mine = [e["details"]["i"] for e in events if e["source"] == f"w{n}"]
        assert mine == list(range(per_writer)), "each writer's events arrive complete and in its order"
    tracker.sync_history()
    assert len(tracker.history.events(limit=10_000)) == writers * per_writer


def test_a_reader_racing_writers_never_sees_a_half_written_file(status_path: Path) -> None:
    procs = [start_proc("write", status_path, f"w{n}", 300, 0.002) for n in range(4)]
    tracker = MinerStageTracker(status_path)
    reads = torn = 0
    inconsistent: list[str] = []
    while any(proc.poll() is None for proc in procs):
        try:
            json.loads(status_path.read_bytes())
        except FileNotFoundError:
            continue
        except ValueError:
            torn += 1
        reads += 1
        events = tracker.read_events()
        if events and [e["seq"] for e in events] != list(range(events[0]["seq"], events[-1]["seq"] + 1)):
            inconsistent.append(f"gap in {[e['seq'] for e in events][:5]}...")
    for proc in procs:
        finish(proc)
    assert reads > 20, "the reader must actually have raced the writers"
    assert torn == 0
    assert inconsistent == []


def test_a_writer_killed_at_any_instant_leaves_a_readable_file_and_no_blocking_lock(status_path: Path) -> None:
    rng = random.Random(4)
    survivor = MinerStageTracker(status_path, source="survivor")
    for round_number in range(12):
        proc = start_proc("flood", status_path, f"victim{round_number}")
        time.sleep(rng.uniform(0, 0.05))  # a random instant of its writing
        proc.send_signal(signal.SIGKILL)
        proc.wait()
        began = time.monotonic()
        survivor.stage_start(1, f"after kill {round_number}")
        assert time.monotonic() - began < 0.3, "the dead writer's lock must not block the next writer"
        assert survivor.stats()["pending"] == 0, "the event was written, not queued"
        json.loads(status_path.read_bytes())  # the status file is whole
        events = survivor.read_events()
        _assert_contiguous(events)
        assert events[-1]["message"] == f"after kill {round_number}"
    survivor.compact()
    document = json.loads(status_path.read_bytes())
    assert document["events"][-1]["message"] == "after kill 11"
    assert journal_path(status_path).read_bytes().endswith(b"\n")


def test_a_lock_held_by_a_stopped_process_delays_a_call_by_about_100_ms_at_most(status_path: Path) -> None:
    tracker = MinerStageTracker(status_path, source="module1")
    tracker.stage_start(0, "before the lock was taken")
    holder = start_proc("hold-lock", status_path)
    try:
        durations = []
        for i in range(5):
            began = time.monotonic()
            tracker.stage_start(1, f"while stuck {i}")
            durations.append(time.monotonic() - began)
        assert max(durations) < 0.25, durations
        assert tracker.stats()["pending"] == 5  # kept, in order, for later
        assert [e["message"] for e in tracker.read_events()] == ["before the lock was taken"]
    finally:
        holder.send_signal(signal.SIGKILL)  # a dead holder's lock is released by the kernel
        holder.wait()
    assert tracker.flush(timeout=3.0)
    messages = [e["message"] for e in tracker.read_events()]
    assert messages == ["before the lock was taken"] + [f"while stuck {i}" for i in range(5)]


def test_queued_events_are_written_by_the_background_retry_without_another_call(status_path: Path) -> None:
    tracker = MinerStageTracker(status_path, source="module1")
    holder = start_proc("hold-lock", status_path)
    tracker.stage_failed(3, "queued while locked", "alice")
    assert tracker.stats()["pending"] == 1
    arrived = threading.Event()

    def watch() -> None:
        deadline = time.monotonic() + 5
        while time.monotonic() < deadline and not arrived.is_set():
            if MinerStageTracker(status_path).read_events():
                arrived.set()
            time.sleep(0.02)

    watcher = threading.Thread(target=watch)
    watcher.start()
    os.kill(holder.pid, signal.SIGKILL)
    holder.wait()
    watcher.join()
    assert arrived.is_set()
    assert tracker.stats()["pending"] == 0
