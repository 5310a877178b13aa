"""Writer processes for the tracker tests: `python tracker_procs.py MODE STATUS_FILE [ARGS]`.

Each mode prints `ready` once it is under way, so tests synchronise on output, not on sleeps.
"""

from __future__ import annotations

import os
import signal
import sqlite3
import sys
import time

from content_miner.common.layout import stage_log_beside
from content_miner.tracker import MinerStageTracker


def say(word: str) -> None:
    print(word, flush=True)


def write(status: str, source: str, count: str, pace: str = "0", close: str = "5.0") -> None:
    """COUNT alternating start/complete events, details {"i": i}, optionally paced; then close()
    with the given timeout ("exit": no close, the interpreter's exit does it)."""
    tracker = MinerStageTracker(status, source=source)
    say("ready")
    for i in range(int(count)):
        call = tracker.stage_start if i % 2 == 0 else tracker.stage_complete
        call(i % 8, f"{source} event {i}", username=source, details={"i": i})
        if float(pace):
            time.sleep(float(pace))
    if close != "exit":
        tracker.close(float(close))
    say(f"done {tracker.stats()['pending']} {tracker.stats()['spilled']}")


def flood(status: str, source: str) -> None:
    """Write as fast as possible until killed."""
    tracker = MinerStageTracker(status, source=source)
    i = 0
    while True:
        tracker.stage_start(i % 8, f"flood {i}", username=source, details={"i": i})
        if i == 20:
            say("ready")
        i += 1


def fork_server(status: str) -> None:
    """Fork a flooding child for every `go` line (printing its pid), reap it on `reap PID`: a fresh
    writer in about a millisecond, where a new interpreter takes a few hundred."""
    say("ready")
    for line in sys.stdin:
        command, *rest = line.split()
        if command == "go":
            pid = os.fork()
            if pid == 0:
                try:
                    tracker = MinerStageTracker(status, source=f"victim{os.getpid()}")
                    i = 0
                    while True:
                        tracker.stage_start(i % 8, f"flood {i}", username="victim", details={"i": i})
                        i += 1
                finally:
                    os._exit(1)
            say(str(pid))
        elif command == "reap":
            os.waitpid(int(rest[0]), 0)
            say("reaped")


def fork_with_queue(status: str) -> None:
    """Queue 3 events (the log is locked by a holder), fork a child that writes 1 and exits the way
    an interpreter does (every tracker closed: written or spilled); then, on `go`, write the queue."""
    from content_miner.tracker import api

    tracker = MinerStageTracker(status, source="parent")
    for i in range(3):
        tracker.stage_start(1, f"parent {i}")
    pid = os.fork()
    if pid == 0:
        MinerStageTracker(status, source="child").stage_start(1, "child")
        api._close_at_exit()
        os._exit(0)
    os.waitpid(pid, 0)
    say("ready")
    sys.stdin.readline()
    say(f"done {tracker.flush(10.0)}")


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
    """Take the stage log's write lock, then stop this process while holding it."""
    from pathlib import Path

    MinerStageTracker(status)._writer.log.connection(create=True)  # the log exists, with no event added
    db = sqlite3.connect(stage_log_beside(Path(status)), isolation_level=None)
    db.execute("BEGIN IMMEDIATE")
    say("ready")
    os.kill(os.getpid(), signal.SIGSTOP)
    time.sleep(3600)


if __name__ == "__main__":
    mode, *args = sys.argv[1:]
    {"write": write, "flood": flood, "stages": stages, "hold-lock": hold_lock, "fork-server": fork_server,
     "fork-with-queue": fork_with_queue}[mode](*args)
