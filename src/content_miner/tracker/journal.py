"""The journal (`miner_status.json.journal`): where stage calls append, one line per event.

Rewriting the whole status file costs a few hundred microseconds per call (create, write and
rename ~250 KB); appending one line under the lock costs tens. So calls append here, and the
status file is brought up to date by compaction a moment later (`compaction.py`), the way a
database checkpoints its write-ahead log.

Layout: a header line `{"journal":"miner-stage-journal","log_id":...,"base_seq":N}` then events
with seq N+1, N+2, ... one per line. A writer killed mid-append leaves an incomplete last line:
readers ignore it, and the next writer cuts it off under the lock before appending.
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from .status_file import SEQ_PREFIX, line_seq

JOURNAL_FORMAT = "miner-stage-journal"
_HEADER_PREFIX = b'{"journal":'
_TAIL_WINDOW = 64 * 1024  # far more than one event line (details are capped at 4 KB)


class CorruptJournal(Exception):
    pass


@dataclass
class Journal:
    log_id: str
    base_seq: int
    lines: list[bytes]  # complete event lines, without their newlines

    @property
    def last_seq(self) -> int:
        return line_seq(self.lines[-1]) if self.lines else self.base_seq


def journal_path(status_path: Path) -> Path:
    return status_path.with_name(status_path.name + ".journal")


def header_line(log_id: str, base_seq: int) -> bytes:
    header = {"journal": JOURNAL_FORMAT, "log_id": log_id, "base_seq": base_seq}
    return json.dumps(header, separators=(",", ":")).encode("utf-8") + b"\n"


def _parse_header(line: bytes) -> tuple[str, int]:
    try:
        header = json.loads(line)
    except ValueError:
        raise CorruptJournal("journal header is not JSON") from None
    if (
        not isinstance(header, dict)
        or header.get("journal") != JOURNAL_FORMAT
        or not isinstance(header.get("log_id"), str)
        or not isinstance(header.get("base_seq"), int)
    ):
        raise CorruptJournal("journal header is malformed")
    return header["log_id"], header["base_seq"]


def parse(data: bytes) -> Journal:
    complete = data[: data.rfind(b"\n") + 1]  # an incomplete last line is not there yet
    if not complete:
        raise CorruptJournal("journal has no header")
    lines = complete[:-1].split(b"\n")
    log_id, base_seq = _parse_header(lines[0])
    events = lines[1:]
    for line in events:
        if not line.startswith(SEQ_PREFIX):
            raise CorruptJournal("journal line without a sequence number")
    return Journal(log_id, base_seq, events)


def read(path: Path) -> Journal | None:
    try:
        with open(path, "rb") as handle:
            return parse(handle.read())
    except FileNotFoundError:
        return None


def append(path: Path, encode: Callable[[int], bytes]) -> tuple[int, int, int]:
    """Append under the caller's lock: `encode(first_seq)` numbers the queued events after the
    journal's last one and returns their lines. Returns the journal's (base_seq, last_seq, inode).
    Raises FileNotFoundError when there is no journal, else CorruptJournal or OSError, leaving
    no partial line behind."""
    fd = os.open(path, os.O_RDWR | os.O_APPEND)
    try:
        stat = os.fstat(fd)
        size = stat.st_size
        window = min(size, _TAIL_WINDOW)
        tail = os.pread(fd, window, size - window)
        if not tail.endswith(b"\n"):  # a writer died mid-append: cut its partial line
            newline = tail.rfind(b"\n")
            if newline < 0:
                raise CorruptJournal("journal tail has no complete line")
            size = size - window + newline + 1
            os.ftruncate(fd, size)
            tail = tail[: newline + 1]
        last_line = tail[tail.rfind(b"\n", 0, len(tail) - 1) + 1 : -1]
        _, base_seq = _parse_header(os.pread(fd, 512, 0).split(b"\n", 1)[0])
        last = base_seq if last_line.startswith(_HEADER_PREFIX) else line_seq(last_line)
        data = encode(last + 1)
        try:
            written = 0
            while written < len(data):
                written += os.write(fd, data[written:])
        except OSError:
            os.ftruncate(fd, size)  # leave no partial events behind for a retry to duplicate
            raise
        return base_seq, line_seq(data[data.rfind(b"\n", 0, len(data) - 1) + 1 :]), stat.st_ino
    finally:
        os.close(fd)


def salvage(data: bytes) -> Journal | None:
    """The parseable events of a damaged journal, numbered as they were."""
    events: list[tuple[int, bytes]] = []
    header: dict[str, Any] = {}
    for line in data.split(b"\n"):
        try:
            record = json.loads(line)
        except ValueError:
            continue
        if isinstance(record, dict) and isinstance(record.get("seq"), int):
            events.append((record["seq"], line))
        elif isinstance(record, dict) and "journal" in record:
            header = record
    declared_base, declared_id = header.get("base_seq"), header.get("log_id")
    if not events and not isinstance(declared_base, int):
        return None  # no event, and no numbering to go on: nothing worth keeping
    events.sort()
    base = declared_base if isinstance(declared_base, int) else events[0][0] - 1
    log_id = declared_id if isinstance(declared_id, str) else ""  # "": unknown
    return Journal(log_id, base, [line for _, line in events])
