"""What the miner runs: Module 1 (watchdog mode) and Module 2, with their flags and log files."""

from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import Any

import miner_paths

from miner_neuron.module_process import ModuleSpec

MINERS_DIR = Path(__file__).resolve().parent.parent
MODULE1_SCRIPT = MINERS_DIR / "main.py"
MODULE2_SCRIPT = MINERS_DIR / "Module2" / "main.py"
MODULE1_SOURCE = "module1"
MODULE2_SOURCE = "module2"


def _script(configured: str | None, default: Path) -> list[str]:
    if not configured:
        return [sys.executable, str(default)]
    path = Path(configured).expanduser()
    return [sys.executable, str(path.absolute())]


def module_specs(config: Any, data_dir: Path) -> list[ModuleSpec]:
    logs = data_dir / miner_paths.LOGS
    env = {miner_paths.DATA_DIR_ENV: str(data_dir)}
    status_override = os.environ.get(miner_paths.STATUS_FILE_ENV)
    if status_override:
        env[miner_paths.STATUS_FILE_ENV] = status_override
    port = int(config.module2.port)
    module1 = ModuleSpec(
        label="Module 1", source=MODULE1_SOURCE, description="Content recommendation system",
        # --quiet: the miner logs every stage line itself; Module 1 printing them too would only
        # double its log file.
        argv=[*_script(config.module1.script, MODULE1_SCRIPT), "--data-dir", str(data_dir), "--quiet",
              "--wait-seconds", f"{config.module1.wait_seconds:g}", "--poll-seconds", f"{config.module1.poll_seconds:g}"],
        log_file=logs / "module1.log", cwd=data_dir, env={**env, "MINER_SOURCE": MODULE1_SOURCE},
    )
    module2 = ModuleSpec(
        label="Module 2", source=MODULE2_SOURCE, description="Image generator and query handler",
        argv=[*_script(config.module2.script, MODULE2_SCRIPT), "--data-dir", str(data_dir), "--port", str(port)],
        log_file=logs / "module2.log", cwd=data_dir, env={**env, "MINER_SOURCE": MODULE2_SOURCE},
        health_url=f"http://127.0.0.1:{port}/health",
    )
    return [module1, module2]
