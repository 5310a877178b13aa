"""The status file (`miner_status.json`): a snapshot of the live state and the recent events.

For people and tools that read JSON; the stage log is the truth and the snapshot is rebuilt from it
a moment after writes. It is only ever replaced atomically (temp file and rename), so a reader sees
the old or the new file, never a mix; anything written over it is simply replaced at the next
rebuild. No fsync: a lost snapshot is rebuilt from the log.
"""

from __future__ import annotations

import json
import logging
import os
from pathlib import Path
from typing import Any

from content_miner.common.atomic_files import write_bytes_atomic

from .log_file import stamp

log = logging.getLogger("content_miner.tracker")

FORMAT = "miner-stage-status"
VERSION = 2
RECENT_EVENTS = 100
HEADER_KEYS = ("log_id", "last_seq", "created_at", "updated_at", "current", "stage_stats", "published")


def document(header: dict[str, Any], events: list[dict[str, Any]]) -> dict[str, Any]:
    return {"format": FORMAT, "version": VERSION, **{key: header.get(key) for key in HEADER_KEYS}, "events": events}


def write(path: Path, doc: dict[str, Any], now: float) -> None:
    """Replace the status file; a directory in its place is kept aside (one warning). Raises OSError."""
    data = json.dumps(doc, ensure_ascii=False, separators=(",", ":")).encode("utf-8") + b"\n"
    try:
        write_bytes_atomic(path, data, durable=False)
    except OSError:
        if not path.is_dir():
            raise
        aside = path.with_name(f"{path.name}.corrupt-{stamp(now)}")
        os.rename(path, aside)
        log.warning("⚠️  Stage tracking: a directory was in the place of the status file %s; kept it aside as %s "
                    "(no events lost: the stage log has them)", path, aside.name)
        write_bytes_atomic(path, data, durable=False)


def read(path: Path) -> dict[str, Any] | None:
    """The snapshot, or None when there is none or it is not one (never raises)."""
    try:
        doc = json.loads(path.read_bytes())
    except (OSError, ValueError, RecursionError):
        return None
    if not isinstance(doc, dict) or doc.get("format") != FORMAT or doc.get("version") != VERSION:
        return None
    if not isinstance(doc.get("current"), dict) or not isinstance(doc.get("last_seq"), int):
        return None
    return doc


def last_seq(path: Path) -> int:
    """The last seq the snapshot knew: a floor for the log's numbering if the log is lost."""
    doc = read(path)
    return doc["last_seq"] if doc else 0
