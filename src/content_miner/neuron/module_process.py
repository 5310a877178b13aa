"""One module as a child process: started in its own session, output to a log file, stopped for sure.

Each module runs in a fresh interpreter (never a fork of the miner: bt.logging and the axon's
socket must not be shared), unbuffered, with stdout and stderr appended to a log file in the data
directory, so no pipe can fill up and block it. It is the leader of its own process group, so
stopping it stops anything it started; `orphan_guard.py` makes it die with a SIGKILLed miner.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from content_miner.common import heap

ORPHAN_GUARD = "content_miner.neuron.orphan_guard"
# Where this package is imported from, for the modules' `python -m`: a checkout run without being
# installed (the spec's wrapper scripts put src/ on sys.path) works too.
PACKAGE_ROOT = str(Path(__file__).resolve().parents[2])


@dataclass(frozen=True)
class ModuleSpec:
    label: str  # "Module 1", as the operator's lines name it
    source: str  # the module's stage tracker source, e.g. "module1"
    description: str  # "Content recommendation system"
    argv: list[str]  # the module's own command line, interpreter first
    log_file: Path
    cwd: Path
    env: dict[str, str] = field(default_factory=dict)  # on top of the miner's environment
    health_url: str | Callable[[], str | None] | None = None  # GET must answer 200 while the module is healthy
    endpoint_file: Path | None = None  # where the module says which port it listens on (removed at each start)


@dataclass(frozen=True)
class ExitInfo:
    code: int | None  # None: it could not be started at all
    run_s: float
    pid: int | None
    reason: str  # "exit code 1", "killed by SIGKILL (exit code -9)", "could not start: ..."


def describe_exit(code: int) -> str:
    if code < 0:
        try:
            name = signal.Signals(-code).name
        except ValueError:
            name = f"signal {-code}"
        return f"killed by {name} (exit code {code})"
    return f"exit code {code}"


class ModuleProcess:
    """The current run of one module, if any."""

    def __init__(self, spec: ModuleSpec) -> None:
        self.spec = spec
        self.popen: subprocess.Popen[bytes] | None = None
        self.started_at = 0.0

    @property
    def pid(self) -> int | None:
        popen = self.popen  # read once: the supervisor's thread may clear it meanwhile
        return popen.pid if popen else None

    def alive(self) -> bool:
        return self.popen is not None and self.popen.poll() is None

    def start(self) -> ExitInfo | None:
        """Start a new run; an ExitInfo if it could not even be started."""
        # MALLOC_ARENA_MAX first: fewer glibc heaps to fragment in the modules' many threads
        # (common/heap.py); an operator's own value in the environment wins.
        env = {heap.ARENA_ENV: heap.ARENAS, **os.environ, **self.spec.env, "PYTHONUNBUFFERED": "1",
               "PYTHONDONTWRITEBYTECODE": "1"}
        env["PYTHONPATH"] = os.pathsep.join(p for p in (PACKAGE_ROOT, env.get("PYTHONPATH", "")) if p)
        argv = [sys.executable, "-m", ORPHAN_GUARD, str(os.getpid()), *self.spec.argv]
        self.started_at = time.monotonic()
        try:
            if self.spec.endpoint_file is not None:
                self.spec.endpoint_file.unlink(missing_ok=True)  # an earlier run's port is no answer
            self.spec.log_file.parent.mkdir(parents=True, exist_ok=True)
            with self.spec.log_file.open("ab") as log:
                log.write(f"\n=== {time.strftime('%Y-%m-%d %H:%M:%S')} starting {self.spec.label} ===\n".encode())
                log.flush()
                self.popen = subprocess.Popen(
                    argv, stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT, cwd=self.spec.cwd,
                    env=env, start_new_session=True,
                )
        except OSError as err:
            self.popen = None
            return ExitInfo(None, 0.0, None, f"could not start: {err.strerror or err}")
        return None

    def exited(self) -> ExitInfo | None:
        """The run's end, once, when it has ended; None while it runs (or when there is no run)."""
        if self.popen is None:
            return None
        code = self.popen.poll()
        if code is None:
            return None
        info = ExitInfo(code, time.monotonic() - self.started_at, self.popen.pid, describe_exit(code))
        self.popen = None
        return info

    def signal_group(self, signum: int) -> None:
        if self.popen is None or self.popen.poll() is not None:
            return
        try:
            os.killpg(self.popen.pid, signum)  # the module leads its own group (start_new_session)
        except ProcessLookupError:
            pass

    def wait(self, deadline: float) -> bool:
        """Wait until the run ends or `deadline` (monotonic); True if it ended."""
        if self.popen is None:
            return True
        try:
            self.popen.wait(timeout=max(0.0, deadline - time.monotonic()))
            return True
        except subprocess.TimeoutExpired:
            return False
