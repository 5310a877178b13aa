"""The operator's status command, run as a real process."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from pathlib import Path

from content_miner.tracker import MinerStageTracker

REPO = Path(__file__).resolve().parents[2]
COMMAND = [sys.executable, "-m", "content_miner.tracker.status_command"]


def _run(*args: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("MINER_")}
    env["COLUMNS"] = "200"
    return subprocess.run([*COMMAND, *args], capture_output=True, text=True, timeout=60, env=env)


def _populate(data: Path) -> None:
    tracker = MinerStageTracker(data / "miner_status.json")
    tracker.stage_start(3, "Indexing 50 posts in vector database", "elonmusk", source="module1")
    tracker.stage_start(1, "Processing twitter account", "badusername", source="module1")
    tracker.stage_failed(1, "Failed to scrape profile", "badusername", source="module1")
    tracker.stage_start(1, "Rendering 15 images for elonmusk", "elonmusk", source="module2")
    tracker.close()


def test_table_shows_every_source_and_account(tmp_path: Path) -> None:
    _populate(tmp_path)
    result = _run("--data-dir", str(tmp_path))
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    row = next(line for line in lines if "badusername" in line)
    assert "module1" in row and "1 Data Scraping" in row and "failed" in row and "Failed to scrape profile" in row
    assert any("module2" in line and "Rendering 15 images" in line for line in lines)
    assert any("elonmusk" in line and "3 Vector Database" in line and "running" in line for line in lines)


def test_json_output_is_the_live_state(tmp_path: Path) -> None:
    _populate(tmp_path)
    result = _run("--data-dir", str(tmp_path), "--json")
    state = json.loads(result.stdout)
    assert state["current"]["module1"]["badusername"]["status"] == "failed"
    assert state["current"]["module2"]["elonmusk"]["stage_name"] == "Image Rendering"  # Module 2's own stages
    assert state["last_seq"] == 4


def test_the_command_never_touches_the_stage_log(tmp_path: Path) -> None:
    _populate(tmp_path)
    before = sorted(p.name for p in tmp_path.iterdir())
    assert _run("--data-dir", str(tmp_path), "--json").returncode == 0
    assert sorted(p.name for p in tmp_path.iterdir()) == before == ["miner_status.json", "stage_log.sqlite3"], \
        "no -wal or -shm: even a reader of a WAL database would create them"


def test_missing_status_file_is_one_clear_line_and_writes_nothing(tmp_path: Path) -> None:
    result = _run("--data-dir", str(tmp_path / "nowhere"))
    assert result.returncode == 1
    assert result.stderr.count("\n") == 1 and "no status file" in result.stderr
    assert not (tmp_path / "nowhere").exists()


def test_watch_refreshes_until_interrupted(tmp_path: Path) -> None:
    _populate(tmp_path)
    env = {k: v for k, v in os.environ.items() if not k.startswith("MINER_")}
    proc = subprocess.Popen([*COMMAND, "--data-dir", str(tmp_path), "--watch"], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True, env={**env, "COLUMNS": "200"})
    try:
        seen = ""
        while "badusername" not in seen:
            line = proc.stdout.readline()
            assert line, proc.stderr.read()
            seen += line
        proc.send_signal(signal.SIGINT)
        _, err = proc.communicate(timeout=10)
        assert proc.returncode == 0 and "Traceback" not in err
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()


def test_a_reader_that_stops_early_ends_it_quietly(tmp_path: Path) -> None:
    tracker = MinerStageTracker(tmp_path / "miner_status.json")
    for number in range(400):  # a JSON answer far larger than the pipe's buffer
        tracker.stage_start(3, "Indexing 50 posts in vector database", f"account{number:04d}", source="module1")
    tracker.close()
    env = {k: v for k, v in os.environ.items() if not k.startswith("MINER_")}
    command = subprocess.Popen([*COMMAND, "--data-dir", str(tmp_path), "--json"], stdout=subprocess.PIPE,
                               stderr=subprocess.PIPE, env=env)
    assert command.stdout is not None and command.stderr is not None
    assert command.stdout.read(100).startswith(b"{")
    command.stdout.close()  # as `| head -c 100` does
    assert command.wait(timeout=60) == 0
    assert b"Traceback" not in command.stderr.read()
