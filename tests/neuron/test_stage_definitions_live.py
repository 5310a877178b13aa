"""Stage definitions, progress and stalls with real processes: a `--mock` miner run with a stage file
of its own, Module 1 frozen (SIGSTOP) inside a stage, the status command and StageStatus reading it."""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

from content_miner.neuron.miner_client import MinerClient, axon_info, mock_keys
from content_miner.tracker import MinerStageTracker
from support.miner import REPO, MinerRun, run
from support.waiting import wait_for

STAGE_FILE = """
[module1]
[[module1.stages]]
number = 3
name = "Embedding Index"
description = "embed the posts and index them"
max_s = 10

[module2]
display = "Renderer"
"""


def _status_json(data_dir: Path) -> dict:
    done = subprocess.run([sys.executable, "-m", "content_miner.tracker.status_command", "--data-dir", str(data_dir),
                           "--json"], capture_output=True, text=True, timeout=60, cwd=REPO)
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout)


def _freeze_with_progress(miner: MinerRun) -> int:
    """SIGSTOP Module 1 once Stage 3 for the sample account has reported some progress (not all)."""
    pid = miner.module_pid("content_miner.pipeline")
    tracker = MinerStageTracker(miner.data_dir / "miner_status.json")

    def moving() -> bool:
        entry = tracker.get_current_stage(source="module1", username="sample_creator")
        done, total = entry.get("progress_done"), entry.get("progress_total")
        return (entry["stage_number"] == 3 and entry["status"] == "running" and isinstance(done, int)
                and isinstance(total, int) and 0 < done < total)

    wait_for(moving, timeout=120, interval=0.005, what="Module 1 to report progress in Stage 3")
    os.kill(pid, signal.SIGSTOP)
    assert moving(), "Stage 3 ended before Module 1 could be frozen in it"
    return pid


def test_a_stage_file_renames_stages_and_a_frozen_stage_is_stalled_then_restarted_and_closed(
        start_miner: Callable[..., MinerRun], tmp_path: Path) -> None:
    stages = tmp_path / "stages.toml"
    stages.write_text(STAGE_FILE)
    # Stalled past 10 s in Stage 3; restarted past 3 x 10 s. The sample account's Stage 3 takes a few
    # seconds, so the run after the restart is not stalled by a slow machine.
    miner = start_miner("--stages.file", str(stages), "--stages.stall_restart_factor", "3", "--status.interval", "2",
                        "--supervisor.backoff_start", "0.5")
    miner.wait_line(r"✅ \[Renderer\] Stage 0 Complete - Initialization - Image generator and query handler ready")
    frozen = _freeze_with_progress(miner)
    # The supervisor starts the modules with fewer glibc heaps (common/heap.py).
    assert b"MALLOC_ARENA_MAX=2" in Path(f"/proc/{frozen}/environ").read_bytes().split(b"\0")
    started = miner.wait_line(r"INFO.*⚙️  Stage 3 - Embedding Index for sample_creator: Indexing \d+ posts")
    # Progress and an ETA (from the rate so far) while it runs, in both of the operator's tools.
    entry = _status_json(miner.data_dir)["current"]["module1"]["sample_creator"]
    assert 0 < entry["progress_done"] < entry["progress_total"] and entry["eta_s"] > 0, entry
    assert entry["state"] in ("running", "stalled")
    table = subprocess.run([sys.executable, "-m", "content_miner.tracker.status_command", "--data-dir",
                            str(miner.data_dir)], capture_output=True, text=True, timeout=60, cwd=REPO,
                           env={**os.environ, "COLUMNS": "250"}).stdout
    assert re.search(rf"Embedding Index .*{entry['progress_done']}/{entry['progress_total']}", table), table

    stalled = miner.wait_line(r"WARNING.*⚠️  Module 1: Stage 3 - Embedding Index for sample_creator is stalled: "
                              r"no progress for \d+s, running for \d+s", after=started, timeout=60)
    # What the operator's tools say meanwhile: the status command and the status synapse.
    entry = _status_json(miner.data_dir)["current"]["module1"]["sample_creator"]
    assert (entry["stage_number"], entry["stage_name"], entry["state"]) == (3, "Embedding Index", "stalled")
    keys = mock_keys(miner.data_dir)
    client = MinerClient(keys.validator, axon_info(keys.miner_hotkey, keys.miner_coldkey, "127.0.0.1",
                                                   miner.axon_port))
    try:
        answer = run(client.status("sample_creator"))
        (mine,) = [stage for stage in answer.current or [] if stage.source == "module1"]
        assert (mine.stage_number, mine.state) == (3, "stalled"), mine
        assert (mine.progress_done, mine.progress_total) == (entry["progress_done"], entry["progress_total"])
        assert mine.eta_s is not None and mine.pipeline_eta_s is not None and mine.pipeline_eta_s >= mine.eta_s
    finally:
        run(client.close())
    miner.wait_line(r"📈 Miner Status: .*stalled", after=stalled, timeout=30)

    restart = miner.wait_line(r"WARNING.*⚠️  Module 1: stalled: no progress for \d+ s; restarting it", after=stalled,
                              timeout=60)
    miner.wait_line(r"ERROR.*💥 Module 1 killed \(stalled: no progress for \d+ s\) after [\d.]+s, during Stage 3 - "
                    r"Embedding Index for sample_creator; restart 1 in 0.5s", after=restart)
    closed = miner.wait_line(r"❌ Stage 3 Failed - Embedding Index for sample_creator - Error: stalled: no progress "
                             r"for \d+ s", after=restart)
    assert "ERROR" in miner.lines()[closed]
    events = MinerStageTracker(miner.data_dir / "miner_status.json").read_events(0)
    (failure,) = [event for event in events if event["source"] == "module1" and event["status"] == "failed"
                  and event["stage_number"] == 3 and event["username"] == "sample_creator"]
    assert re.fullmatch(r"stalled: no progress for \d+ s", failure["message"]) and failure["pid"] == frozen
    # The restarted Module 1 takes the account back and finishes it, under the file's names.
    miner.wait_line(r"🔁 Restarting Module 1 \(restart 1\)", after=restart)
    assert wait_for(lambda: miner.module_pid("content_miner.pipeline") != frozen, timeout=30,
                    what="a new Module 1")
    miner.wait_line(r"✅ Stage 3 Complete - Embedding Index for sample_creator - ", after=restart, timeout=120)
    miner.wait_line(r"✅ Stage 7 Complete - Complete for sample_creator - Pipeline completed", after=restart,
                    timeout=120)
    assert "Traceback" not in miner.log()
    assert miner.stop() == 0


def test_a_bad_stage_file_is_one_line_and_exit_2(tmp_path: Path) -> None:
    stages = tmp_path / "stages.toml"
    stages.write_text("[module1]\n[[module1.stages]]\nnumber = 3\nname = \"x\"\nmax_s = -1\n")
    done = subprocess.run([sys.executable, str(REPO / "neurons" / "miner.py"), "--mock", "--data-dir",
                           str(tmp_path / "data"), "--stages.file", str(stages)],
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 2 and done.stdout == ""
    (line,) = done.stderr.splitlines()
    assert line.startswith("neurons/miner.py: error: ") and "max_s" in line and str(stages) in line, line
    assert not (tmp_path / "data").exists()
