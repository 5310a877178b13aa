"""Helpers shared by the tracker tests: a collecting logger and writer processes."""

from __future__ import annotations

import subprocess
import sys
import threading
from pathlib import Path

from content_miner.tracker import Clock

PROCS = Path(__file__).with_name("tracker_procs.py")


class Collected:
    """A logger for reporters that keeps (level, line) and lets tests wait for a count."""

    def __init__(self) -> None:
        self.lines: list[tuple[str, str]] = []
        self._changed = threading.Condition()

    def _add(self, level: str, msg: str) -> None:
        with self._changed:
            self.lines.append((level, msg))
            self._changed.notify_all()

    def info(self, msg: str) -> None:
        self._add("info", msg)

    def warning(self, msg: str) -> None:
        self._add("warning", msg)

    def error(self, msg: str) -> None:
        self._add("error", msg)

    def wait_for(self, count: int, timeout: float = 10.0) -> bool:
        with self._changed:
            return self._changed.wait_for(lambda: len(self.lines) >= count, timeout)

    def texts(self) -> list[str]:
        return [text for _, text in self.lines]


class SteppedClock:
    """Wall and monotonic clocks that move only when told: `advance` moves both (time passing),
    `step_wall` moves the wall clock alone (an operator or NTP setting the clock)."""

    def __init__(self, wall: float = 1_700_000_000.0, clock_id: str = "stepped") -> None:
        self.now, self.mono_now = wall, 1000.0
        self.clock = Clock(wall=lambda: self.now, mono=lambda: self.mono_now, id=clock_id)

    def advance(self, seconds: float) -> None:
        self.now += seconds
        self.mono_now += seconds

    def step_wall(self, seconds: float) -> None:
        self.now += seconds


def start_proc(mode: str, *args: object, commands: bool = False) -> subprocess.Popen[str]:
    """Start a writer process and wait until it says it is under way (`commands`: a stdin pipe)."""
    proc = subprocess.Popen(
        [sys.executable, str(PROCS), mode, *map(str, args)],
        stdin=subprocess.PIPE if commands else None,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    line = proc.stdout.readline().strip() if proc.stdout else ""
    assert line == "ready", f"{mode} process did not start: {line!r} {proc.stderr.read() if line == '' else ''}"
    return proc


def finish(proc: subprocess.Popen[str], timeout: float = 60) -> str:
    out, err = proc.communicate(timeout=timeout)
    assert proc.returncode == 0, err
    return out
