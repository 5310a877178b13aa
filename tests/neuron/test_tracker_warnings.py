"""The stage tracker's repair warnings reach the operator through the miner's own logging."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

MINER_LOGGING = """
import sys
from pathlib import Path
from content_miner.neuron.cli import configure_logging
from content_miner.neuron.config import build_config
from content_miner.tracker import MinerStageTracker

data = Path(sys.argv[1])
configure_logging(build_config(["--data-dir", str(data)]), data)  # what the miner does at start-up
(data / "stage_log.sqlite3").write_bytes(b"not a database" * 100)
MinerStageTracker(data / "miner_status.json", source="miner").stage_start(0, "after the damage")
"""  # bittensor's queue of log records is flushed when the interpreter exits


def test_a_repair_warning_is_a_bittensor_warning_line_in_the_miner(tmp_path: Path) -> None:
    data = tmp_path / "data"
    data.mkdir()
    env = {**os.environ, "READ_ONLY": "1"}
    done = subprocess.run([sys.executable, "-c", MINER_LOGGING, str(data)], capture_output=True, text=True,
                          timeout=120, env=env)
    assert done.returncode == 0, done.stderr
    lines = [line for line in done.stdout.splitlines() if "Stage tracking" in line]
    assert len(lines) == 1, done.stdout + done.stderr
    assert "Traceback" not in done.stderr and "Exception" not in done.stderr
    assert "WARNING" in lines[0] and "kept it aside as stage_log.sqlite3.corrupt-" in lines[0]
