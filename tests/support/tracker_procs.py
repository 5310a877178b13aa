"""Writer processes for the tracker tests: `python tracker_procs.py MODE STATUS_FILE [ARGS]`.

Each mode prints `ready` once it is under way, so tests synchronise on output, not on sleeps.
"""

from __future__ import annotations

import os
import signal
import sys
import time

from filelock import FileLock

from content_miner.tracker import MinerStageTracker


def say(word: str) -> None:
    print(word, flush=True)


def write(status: str, source: str, count: str, pace: str = "0") -> None:
    """COUNT alternating start/complete events, details {"i": i}, optionally paced."""
    tracker = MinerStageTracker(status, source=source)
    say("ready")
    for i in range(int(count)):
        call = tracker.stage_start if i % 2 == 0 else tracker.stage_complete
        call(i % 8, f"{source} event {i}", username=source, details={"i": i})
        if float(pace):
            time.sleep(float(pace))
    tracker.close(5.0)
    say("done")


def flood(status: str, source: str) -> None:
    """Write as fast as possible until killed."""
    tracker = MinerStageTracker(status, source=source)
    i = 0
    while True:
        tracker.stage_start(i % 8, f"flood {i}", username=source, details={"i": i})
        if i == 20:
            say("ready")
        i += 1


def stages(status: str, username: str) -> None:
    """A whole pipeline in a few milliseconds: 7 stages, start and complete each."""
    tracker = MinerStageTracker(status, source="module1")
    say("ready")
    for stage in range(1, 8):
        tracker.stage_start(stage, f"working on stage {stage}", username=username)
        tracker.stage_complete(stage, f"stage {stage} done", username=username)
    tracker.close(5.0)
    say("done")


def hold_lock(status: str) -> None:
    """Take the writers' lock, then stop this process while holding it."""
    lock = FileLock(f"{status}.lock")
    lock.acquire()
    say("ready")
    os.kill(os.getpid(), signal.SIGSTOP)
    time.sleep(3600)


if __name__ == "__main__":
    mode, *args = sys.argv[1:]
    {"write": write, "flood": flood, "stages": stages, "hold-lock": hold_lock}[mode](*args)
