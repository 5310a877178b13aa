"""Spill files: the events a process could not write into the stage log before it exited.

At exit a tracker waits a bounded time for the log (it may be locked by a stopped process, or on a
full disk); what it still holds then goes into `stage_log.spill-<pid>-<token>.jsonl` beside the log,
written atomically. The next writer or reader merges each file in one transaction that also records
the file's name in the `spills` table, so a file is merged exactly once even if the merging process
dies before it can delete it, or two processes merge it at the same moment.
"""

from __future__ import annotations

import json
import sqlite3
import uuid
from pathlib import Path
from typing import Any

from content_miner.common import layout
from content_miner.common.atomic_files import write_bytes_atomic

from .stage_log import insert

FORMAT = "content-miner-stage-spill"
EVENT_KEYS = {"timestamp", "mono", "clock", "stage_number", "stage_name", "status", "message", "username",
              "details", "source", "pid"}


def write(status_file: Path, events: list[dict[str, Any]], pid: int) -> Path:
    """Keep `events` in a new spill file; raises OSError (the caller reports the loss)."""
    path = layout.stage_spill_file(status_file, pid, uuid.uuid4().hex[:12])
    lines = [json.dumps({"format": FORMAT, "pid": pid, "events": len(events)})]
    lines += [json.dumps(event, ensure_ascii=False) for event in events]
    write_bytes_atomic(path, ("\n".join(lines) + "\n").encode("utf-8"), durable=True)
    return path


def read(path: Path) -> tuple[list[dict[str, Any]], int]:
    """The file's events in order, and how many of its lines were unreadable. Raises OSError."""
    events, bad = [], 0
    lines = path.read_bytes().splitlines()
    for number, line in enumerate(lines):
        try:
            record = json.loads(line)
        except ValueError:
            record = None
        if number == 0 and isinstance(record, dict) and record.get("format") == FORMAT:
            continue
        if isinstance(record, dict) and EVENT_KEYS <= record.keys():
            events.append(record)
        elif line.strip():
            bad += 1
    return events, bad


def merge(db: sqlite3.Connection, name: str, events: list[dict[str, Any]], now: float) -> int:
    """Insert the file's events unless it was merged before; returns the last seq (0: nothing new)."""
    if db.execute("SELECT 1 FROM spills WHERE name = ?", (name,)).fetchone():
        return 0
    db.execute("INSERT INTO spills VALUES (?, ?)", (name, now))
    return insert(db, events, merged=True) if events else 0
