"""Starting the miner or Module 2 for a benchmark, and reading back the ports they chose."""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path

from content_miner.common.endpoints import read_endpoint
from content_miner.common.layout import DataLayout


def start(argv: list[str], log: Path, env: dict[str, str] | None = None) -> subprocess.Popen[bytes]:
    with log.open("ab") as out:  # a file, never an unread pipe
        return subprocess.Popen([sys.executable, *argv], stdout=out, stderr=subprocess.STDOUT,
                                stdin=subprocess.DEVNULL, env=env)


def announced(data_dir: Path, process: str, field: str, child: subprocess.Popen[bytes], timeout: float = 90.0) -> int:
    """A port the process wrote into `<data_dir>/run/<process>.json` once it listens."""
    deadline = time.monotonic() + timeout
    path = DataLayout(data_dir).endpoint_file(process)
    while time.monotonic() < deadline:
        info = read_endpoint(path)
        if info is not None and isinstance(info.get(field), int):
            return int(info[field])
        if child.poll() is not None:
            raise SystemExit(f"{process} exited with code {child.returncode} before it listened")
        time.sleep(0.05)
    raise SystemExit(f"{process} did not say where it listens within {timeout:g} s")
