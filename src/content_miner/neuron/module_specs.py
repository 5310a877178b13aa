"""What the miner runs: Module 1 (watchdog mode) and Module 2, with their flags and log files."""

from __future__ import annotations

import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

from content_miner.common import layout
from content_miner.common.endpoints import endpoint_port
from content_miner.common.layout import DataLayout
from content_miner.neuron.module_process import ModuleSpec

MODULE1_PACKAGE = "content_miner.pipeline"
MODULE2_PACKAGE = "content_miner.images"
MODULE1_SOURCE = "module1"
MODULE2_SOURCE = "module2"


def _program(configured: str | None, package: str) -> list[str]:
    """`python -m <package>` (works from any directory once installed), or a script the operator named."""
    if not configured:
        return [sys.executable, "-m", package]
    return [sys.executable, str(Path(configured).expanduser().absolute())]


def module_specs(config: Any, paths: DataLayout) -> list[ModuleSpec]:
    data_dir = str(paths.root)
    # The modules find everything from --data-dir; a status file moved by $MINER_STATUS_FILE is the
    # one setting they get from the environment (the tracker's documented override).
    env = {layout.STATUS_FILE_ENV: str(paths.status_override)} if paths.status_override else {}
    port = int(config.module2.port)
    stages = ["--stages-file", str(Path(config.stages.file).expanduser().absolute())] if config.stages.file else []
    module2_url = module2_base_url(paths, port)
    module1 = ModuleSpec(
        label="Module 1", source=MODULE1_SOURCE, description="Content recommendation system",
        # --quiet: the miner logs every stage line itself; Module 1 printing them too would only
        # double its log file.
        argv=[*_program(config.module1.script, MODULE1_PACKAGE), "--data-dir", data_dir, "--quiet",
              "--wait-seconds", f"{config.module1.wait_seconds:g}",
              "--poll-seconds", f"{config.module1.poll_seconds:g}",
              "--keep-days", f"{config.inbox.keep_days:g}", "--keep-files", str(int(config.inbox.keep_files)), *stages],
        log_file=paths.module_log(MODULE1_SOURCE), cwd=paths.root, env=env,
    )
    module2 = ModuleSpec(
        label="Module 2", source=MODULE2_SOURCE, description="Image generator and query handler",
        argv=[*_program(config.module2.script, MODULE2_PACKAGE), "--data-dir", data_dir, "--port", str(port),
              *stages],
        log_file=paths.module_log(MODULE2_SOURCE), cwd=paths.root, env=env,
        health_url=lambda: (base + "/health") if (base := module2_url()) else None,
        endpoint_file=paths.endpoint_file(MODULE2_SOURCE),
    )
    return [module1, module2]


def module2_base_url(paths: DataLayout, port: int) -> Callable[[], str | None]:
    """Module 2's URL: on `--module2.port`, or (port 0) where Module 2 says it listens."""
    if port:
        return lambda: f"http://127.0.0.1:{port}"
    endpoint = paths.endpoint_file(MODULE2_SOURCE)

    def current() -> str | None:
        found = endpoint_port(endpoint)
        return f"http://127.0.0.1:{found}" if found else None

    return current
