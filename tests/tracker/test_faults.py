"""Guarantee 5: a missing, corrupt or unwritable status file never raises into the pipeline."""

from __future__ import annotations

import json
import logging
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest

from content_miner.tracker import MinerStageTracker
from content_miner.tracker.journal import journal_path

REPO = Path(__file__).resolve().parents[2]


def _aside_copies(path: Path) -> list[Path]:
    return sorted(path.parent.glob(f"{path.name}.corrupt-*"))


@pytest.mark.parametrize(
    "garbage",
    [b"\x00\xff not json at all", b'{"format":"miner-stage-status","version":1,"log_id":"x","last_seq', b"[]", b""],
    ids=["binary", "truncated", "wrong-shape", "empty"],
)
def test_a_corrupt_status_file_is_kept_aside_and_replaced(status_path: Path, garbage: bytes, caplog) -> None:
    tracker = MinerStageTracker(status_path, source="module1")
    tracker.stage_start(1, "before", "alice")
    tracker.compact()
    status_path.write_bytes(garbage)
    caplog.set_level(logging.DEBUG, logger="miner_stage_tracker")
    tracker.stage_complete(1, "after", "alice")
    tracker.stage_start(2, "later", "alice")
    tracker.compact()
    document = json.loads(status_path.read_bytes())
    assert [e["message"] for e in document["events"]][-2:] == ["after", "later"]
    (aside,) = _aside_copies(status_path)
    assert aside.read_bytes() == garbage, "the corrupt copy is kept for inspection, byte for byte"
    healing = [r for r in caplog.records if "kept it as" in r.getMessage()]
    assert len(healing) == 1 and healing[0].levelno == logging.DEBUG


def test_a_deleted_status_file_is_recreated(status_path: Path) -> None:
    tracker = MinerStageTracker(status_path, source="module1")
    tracker.stage_start(1, "one")
    tracker.compact()
    status_path.unlink()
    journal_path(status_path).unlink()
    tracker.stage_start(2, "two")
    tracker.compact()
    assert [e["message"] for e in json.loads(status_path.read_bytes())["events"]] == ["two"]


def test_a_directory_in_the_way_is_moved_aside(status_path: Path) -> None:
    status_path.mkdir(parents=True)
    (status_path / "keep.txt").write_text("someone's file")
    tracker = MinerStageTracker(status_path, source="module1")
    tracker.stage_start(1, "through the directory")
    tracker.compact()
    assert status_path.is_file()
    (aside,) = _aside_copies(status_path)
    assert (aside / "keep.txt").read_text() == "someone's file"
    assert [e["message"] for e in tracker.read_events()] == ["through the directory"]


def test_a_read_only_status_file_is_still_replaced(status_path: Path) -> None:
    tracker = MinerStageTracker(status_path, source="module1")
    tracker.stage_start(1, "one")
    tracker.compact()
    status_path.chmod(0o444)
    tracker.stage_start(2, "two")
    tracker.compact()
    assert [e["message"] for e in json.loads(status_path.read_bytes())["events"]] == ["one", "two"]


def test_an_unwritable_location_never_raises_and_never_blocks(tmp_path: Path) -> None:
    blocker = tmp_path / "a-file"
    blocker.write_text("not a directory")
    tracker = MinerStageTracker(blocker / "data" / "miner_status.json", source="module1")
    began = time.monotonic()
    for i in range(20):
        tracker.stage_start(1, f"nowhere {i}")
    assert time.monotonic() - began < 1.0
    stats = tracker.stats()
    assert stats["write_errors"] >= 1 and stats["pending"] == 20
    assert tracker.read_events() == [] and tracker.get_current_stage()["status"] == "idle"


def _without_root_override() -> list[str]:
    """As root, permissions are not enforced: run the writer without the capability that skips them."""
    if os.geteuid() != 0:
        return []
    if not shutil.which("setpriv"):
        pytest.skip("running as root without setpriv: cannot make a directory read-only for a writer")
    return ["setpriv", "--bounding-set=-dac_override,-dac_read_search,-fowner", "--inh-caps=-all"]


def test_a_read_only_directory_never_raises_and_never_blocks(tmp_path: Path) -> None:
    data = tmp_path / "data"
    data.mkdir()
    data.chmod(0o555)
    code = (
        "import json, time\n"
        "from content_miner.tracker import MinerStageTracker\n"
        f"t = MinerStageTracker({str(data / 'miner_status.json')!r}, source='module1')\n"
        "began = time.monotonic()\n"
        "for i in range(10): t.stage_start(1, f'denied {i}')\n"
        "print(json.dumps({'seconds': time.monotonic() - began, **t.stats()}))"
    )
    result = subprocess.run(
        [*_without_root_override(), sys.executable, "-c", code], cwd=REPO, capture_output=True, text=True,
        timeout=60,
    )
    assert result.returncode == 0, result.stderr
    assert "Traceback" not in result.stderr
    report = json.loads(result.stdout)
    assert report["seconds"] < 1.0 and report["pending"] == 10 and report["write_errors"] >= 1


def test_a_damaged_journal_is_salvaged_and_kept(status_path: Path) -> None:
    tracker = MinerStageTracker(status_path, source="module1")
    tracker.stage_start(1, "one")
    tracker.compact()
    tracker.stage_start(2, "two")
    tracker.stage_start(3, "three")
    journal = journal_path(status_path)
    damaged = journal.read_bytes().replace(b'"message":"two"', b'"message":"two"\x00\x00garbage', 1)
    journal.write_bytes(b"garbage header\n" + damaged.split(b"\n", 1)[1])
    tracker.stage_start(4, "four")
    tracker.compact()
    messages = [e["message"] for e in json.loads(status_path.read_bytes())["events"]]
    assert messages == ["one", "three", "four"], "the readable events survive; the damaged one is skipped"
    assert len(_aside_copies(journal)) == 1


def test_a_journal_header_without_base_seq_and_no_events_is_replaced(status_path: Path) -> None:
    # salvage() used to raise IndexError here: every later stage call was lost, silently.
    tracker = MinerStageTracker(status_path, source="module1")
    tracker.stage_start(1, "one")
    tracker.compact()
    journal = journal_path(status_path)
    journal.write_bytes(b'{"journal":"miner-stage-journal","log_id":"x"}\n')
    tracker.stage_start(2, "two")
    tracker.stage_start(3, "three")
    tracker.compact()
    assert [e["message"] for e in tracker.read_events()] == ["one", "two", "three"]
    assert len(_aside_copies(journal)) == 1


def test_a_partial_journal_line_from_a_dead_writer_is_ignored_then_cut(status_path: Path) -> None:
    tracker = MinerStageTracker(status_path, source="module1")
    tracker.stage_start(1, "whole")
    with open(journal_path(status_path), "ab") as handle:
        handle.write(b'{"seq":2,"timestamp":1.0,"stage_num')  # the writer died here
    assert [e["message"] for e in tracker.read_events()] == ["whole"]
    tracker.stage_start(2, "next")
    assert [(e["seq"], e["message"]) for e in tracker.read_events()] == [(1, "whole"), (2, "next")]


def test_a_corrupt_history_database_is_kept_aside_and_stage_calls_go_on(status_path: Path) -> None:
    tracker = MinerStageTracker(status_path, source="module1")
    tracker.history.path.parent.mkdir(parents=True, exist_ok=True)
    tracker.history.path.write_bytes(b"this is not sqlite" * 100)
    tracker.stage_start(1, "one")
    tracker.close()
    assert [e["message"] for e in tracker.history.events()] == ["one"]
    assert len(list(status_path.parent.glob("stage_history.sqlite3.corrupt-*"))) == 1


def test_a_failing_fold_does_not_queue_written_events_again(status_path: Path, monkeypatch) -> None:
    from content_miner.tracker import status_file, writer

    tracker = MinerStageTracker(status_path, source="module1")
    tracker.stage_start(0, "before the disk filled up")
    monkeypatch.setattr(writer, "COMPACT_EVERY", 1)  # every append folds at once

    def disk_full(path: Path, data: bytes) -> None:
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(status_file, "write_atomically", disk_full)
    for i in range(5):
        tracker.stage_start(1, f"while folding fails {i}")
    monkeypatch.undo()
    assert tracker.stats()["pending"] == 0
    messages = [e["message"] for e in tracker.read_events()]
    assert messages == ["before the disk filled up"] + [f"while folding fails {i}" for i in range(5)]
