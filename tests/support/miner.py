"""Run the real miner (`neurons/miner.py --mock`) as a subprocess and watch its output.

Output goes to a log file (never an unread pipe); tests wait for lines or conditions with
deadlines.
"""

from __future__ import annotations

import asyncio
import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import psutil

from content_miner.common.endpoints import endpoint_port, read_endpoint
from content_miner.common.layout import DataLayout
from content_miner.tracker import MinerStageTracker
from support.waiting import wait_for

REPO = Path(__file__).resolve().parents[2]
MINER = REPO / "neurons" / "miner.py"


# Not passed to the miner: it must keep its files in the data directory by itself. XDG_* and
# MPLCONFIGDIR would send libraries' files elsewhere (the miner sets its own: miner_paths), READ_ONLY
# keeps bittensor out of ~/.bittensor and PYTHONDONTWRITEBYTECODE keeps __pycache__ out of the
# source tree (neurons/miner.py sets both), so a write into $HOME or the tree shows up in the tests.
NOT_INHERITED = ("MPLCONFIGDIR", "READ_ONLY", "PYTHONDONTWRITEBYTECODE")


class MinerRun:
    def __init__(self, data_dir: Path, log_path: Path, *extra: str, env: dict[str, str] | None = None,
                 home: Path | None = None, wrapper: tuple[str, ...] = ()) -> None:
        """`wrapper`: a command the miner's command line is appended to, which must exec it (`unshare`)."""
        self.data_dir = data_dir
        self.log_path = log_path
        # An empty HOME outside the data directory: a write into ~ is not hidden among the data.
        self.home = home or data_dir.parent / f"{data_dir.name}-home"
        self.extra = extra
        self.wrapper = wrapper
        self.env = env or {}
        self.process: subprocess.Popen[bytes] | None = None
        self.started_at = 0.0  # wall clock, for comparing with file times

    def start(self) -> MinerRun:
        self.home.mkdir(parents=True, exist_ok=True)
        env = {k: v for k, v in os.environ.items()
               if not k.startswith(("MINER_", "BT_", "X_API", "X_BEARER", "XDG_")) and k not in NOT_INHERITED}
        env.update({"PYTHONUNBUFFERED": "1", "HOME": str(self.home), **self.env})
        self.started_at = time.time()
        # Ports chosen by the processes themselves (0) and read back: no race for a "free" port.
        ports = [] if any(arg.startswith("--axon.port") for arg in self.extra) else ["--axon.port", "0"]
        if not any(arg.startswith("--metrics.port") for arg in self.extra):
            ports += ["--metrics.port", "0"]
        argv = [*self.wrapper, sys.executable, str(MINER), "--mock", "--netuid", "7", "--data-dir", str(self.data_dir),
                *ports, "--module2.port", "0",
                "--stages.poll_interval", "0.2", *self.extra]
        with self.log_path.open("ab") as log:
            self.process = subprocess.Popen(argv, stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                                            cwd=self.data_dir, env=env)
        return self

    @property
    def axon_port(self) -> int:
        """The port the miner's axon listens on (it says so in `run/miner.json` once it does)."""
        def announced() -> int | None:
            info = read_endpoint(DataLayout(self.data_dir).endpoint_file("miner"))
            if info is None and self.process is not None and self.process.poll() is not None:
                raise AssertionError(f"miner exited ({self.process.returncode}):\n{self.log()[-4000:]}")
            return int(info["axon_port"]) if info else None

        return wait_for(announced, timeout=60, what="the miner's axon port")

    @property
    def module2_port(self) -> int:
        return wait_for(lambda: endpoint_port(DataLayout(self.data_dir).endpoint_file("module2")), timeout=60,
                        what="Module 2's port")

    def log(self) -> str:
        return self.log_path.read_text(encoding="utf-8", errors="replace")

    def lines(self) -> list[str]:
        return self.log().splitlines()

    def wait_line(self, pattern: str, *, timeout: float = 60.0, after: int = 0) -> int:
        """The index of the first line (from `after`) matching `pattern`; fails on timeout or exit."""
        regex = re.compile(pattern)

        def found() -> int | None:
            lines = self.lines()
            for index in range(after, len(lines)):
                if regex.search(lines[index]):
                    return index + 1  # +1 so that line 0 is truthy
            if self.process is not None and self.process.poll() is not None:
                raise AssertionError(
                    f"miner exited ({self.process.returncode}) before {pattern!r}:\n{self.log()[-4000:]}"
                )
            return None

        try:
            return wait_for(found, timeout=timeout, what=f"a line matching {pattern!r}", interval=0.1) - 1
        except AssertionError as err:
            raise AssertionError(f"{err}\n--- miner log (tail) ---\n{self.log()[-4000:]}") from None

    def tree(self) -> list[psutil.Process]:
        assert self.process is not None
        try:
            return psutil.Process(self.process.pid).children(recursive=True)
        except psutil.NoSuchProcess:
            return []

    def module_pid(self, script_part: str) -> int:
        def find() -> int | None:
            for child in self.tree():
                try:
                    if any(script_part in part for part in child.cmdline()):
                        return child.pid
                except psutil.Error:
                    continue
            return None

        return wait_for(find, timeout=20, what=f"a child running {script_part}")

    def freeze_module_in_stage(self, script_part: str, source: str, username: str, stage_number: int) -> int:
        """SIGSTOP the module the moment the status file shows it running `stage_number` for `username`,
        and check it is still in that stage once frozen; returns its pid. However short the stage, the
        module is caught in it (a fast poll of the status file, not a log line read after the fact)."""
        pid = self.module_pid(script_part)
        tracker = MinerStageTracker(self.data_dir / "miner_status.json")

        def in_stage() -> bool:
            entry = tracker.get_current_stage(source=source, username=username)
            return entry["stage_number"] == stage_number and entry["status"] == "running"

        wait_for(in_stage, timeout=120, interval=0.005, what=f"{source} to start Stage {stage_number} for {username}")
        os.kill(pid, signal.SIGSTOP)
        assert in_stage(), f"Stage {stage_number} ended before {source} could be frozen in it: use a bigger account"
        return pid

    def send(self, signum: int) -> None:
        assert self.process is not None
        self.process.send_signal(signum)

    def stop(self, timeout: float = 10.0) -> int:
        assert self.process is not None
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
        return self.process.wait(timeout=timeout)

    def kill_all(self) -> None:
        """Test clean-up: the miner and anything it left behind."""
        if self.process is None:
            return
        leftovers = self.tree()
        if self.process.poll() is None:
            self.process.kill()
            self.process.wait(timeout=10)
        for child in leftovers:
            try:
                child.kill()
            except psutil.Error:
                pass


_LOOP = asyncio.new_event_loop()  # one loop for every call: a dendrite's HTTP session belongs to its loop


def run(coroutine: Any) -> Any:
    return _LOOP.run_until_complete(coroutine)
