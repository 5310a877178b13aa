"""The status file (`miner_status.json`): live state plus the ring of recent events.

One JSON document, laid out one event per line so that code can work on it without parsing every
event::

    {"format":"miner-stage-status","version":1,"log_id":...,"last_seq":N,"current":{...},...,"events":[
    {"seq":1,...},
    {"seq":2,...}
    ]}

Any JSON parser reads it whole. It is only ever replaced atomically (temp file + rename), so a
reader sees the old or the new file, never a mix. New events reach it from the journal (see
`journal.py`) when a writer folds them in (`compaction.py`).
"""

from __future__ import annotations

import json
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from content_miner.common.atomic_files import write_bytes_atomic

FORMAT = "miner-stage-status"
VERSION = 1
_EVENTS_KEY = b',"events":['
_TAIL = b"]}\n"
SEQ_PREFIX = b'{"seq":'


class CorruptStatusFile(Exception):
    """The file exists but is not a status file this code can use."""


@dataclass
class StatusDocument:
    header: dict[str, Any]
    body: bytes = b""  # encoded events, oldest first: b'{...},\n{...}\n', or b'' when empty

    @classmethod
    def new(cls, now: float, *, log_id: str | None = None, last_seq: int = 0) -> StatusDocument:
        return cls(
            header={
                "format": FORMAT,
                "version": VERSION,
                "log_id": log_id or uuid.uuid4().hex,
                "created_at": now,
                "updated_at": now,
                "last_seq": last_seq,
                "current": {},
                "open": {},
            }
        )

    @property
    def log_id(self) -> str:
        return str(self.header["log_id"])

    @property
    def last_seq(self) -> int:
        return int(self.header["last_seq"])

    def event_count(self) -> int:
        return self.body.count(b"\n")

    def lines(self) -> list[bytes]:
        # ",\n" cannot occur inside an event: JSON escapes newlines in strings.
        return self.body[:-1].split(b",\n") if self.body else []

    def first_seq(self) -> int:
        """The oldest sequence number in the ring (last_seq + 1 when the ring is empty)."""
        return line_seq(self.body) if self.body else self.last_seq + 1

    def append(self, lines: list[bytes], ring_size: int) -> None:
        if lines:
            joined = b",\n".join(lines) + b"\n"
            self.body = self.body[:-1] + b",\n" + joined if self.body else joined
        excess = self.event_count() - ring_size
        if excess > 0:
            cut = 0
            for _ in range(excess):
                cut = self.body.index(b"\n", cut) + 1
            self.body = self.body[cut:]

    def to_bytes(self) -> bytes:
        head = json.dumps(self.header, ensure_ascii=False, separators=(",", ":")).encode("utf-8")
        return head[:-1] + _EVENTS_KEY + b"\n" + self.body + _TAIL


def line_seq(line: bytes) -> int:
    """The sequence number at the start of an encoded event."""
    if not line.startswith(SEQ_PREFIX):
        raise ValueError("event line does not start with its sequence number")
    return int(line[len(SEQ_PREFIX) : line.index(b",", len(SEQ_PREFIX))])


def _check_header(header: object) -> dict[str, Any]:
    if not isinstance(header, dict) or header.get("format") != FORMAT:
        raise CorruptStatusFile("not a stage status file")
    if header.get("version") != VERSION:
        raise CorruptStatusFile(f"unsupported status file version {header.get('version')!r}")
    if not isinstance(header.get("log_id"), str) or not isinstance(header.get("last_seq"), int):
        raise CorruptStatusFile("status file header lacks log_id or last_seq")
    if not isinstance(header.get("current"), dict) or not isinstance(header.get("open"), dict):
        raise CorruptStatusFile("status file header lacks current or open")
    return header


def parse(data: bytes) -> StatusDocument:
    """The document in `data`; raises CorruptStatusFile when it is not a usable status file."""
    try:
        return _parse_layout(data)
    except (ValueError, CorruptStatusFile):
        pass
    # Valid JSON in another layout (pretty-printed by hand, say) is accepted; the next write
    # restores the layout.
    try:
        whole = json.loads(data)
    except (ValueError, RecursionError) as exc:
        raise CorruptStatusFile(f"status file is not valid JSON ({exc.__class__.__name__})") from None
    if not isinstance(whole, dict) or not isinstance(whole.get("events"), list):
        raise CorruptStatusFile("status file has no event list")
    events = whole.pop("events")
    header = _check_header(whole)
    lines = []
    for event in events:
        if not isinstance(event, dict) or not isinstance(event.get("seq"), int):
            raise CorruptStatusFile("status file holds an event without a sequence number")
        ordered = {"seq": event["seq"], **{k: v for k, v in event.items() if k != "seq"}}
        lines.append(json.dumps(ordered, ensure_ascii=False, separators=(",", ":")).encode("utf-8"))
    document = StatusDocument(header)
    document.append(lines, ring_size=len(lines))
    return document


def _parse_layout(data: bytes) -> StatusDocument:
    if not data.endswith(_TAIL):
        raise CorruptStatusFile("status file is truncated")
    first_newline = data.index(b"\n")
    head = data[:first_newline]
    if not head.endswith(_EVENTS_KEY):
        raise CorruptStatusFile("status file header line is malformed")
    header = _check_header(json.loads(head[: -len(_EVENTS_KEY)] + b"}"))
    body = data[first_newline + 1 : -len(_TAIL)]
    if body and not (body.startswith(SEQ_PREFIX) and body.endswith(b"}\n")):
        raise CorruptStatusFile("status file event lines are malformed")
    return StatusDocument(header, body)


def read(path: Path) -> StatusDocument | None:
    """The file's document, or None when there is none. Raises CorruptStatusFile or OSError."""
    try:
        with open(path, "rb") as handle:
            data = handle.read()
    except FileNotFoundError:
        return None
    return parse(data)


def decode_lines(lines: list[bytes], after_seq: int) -> list[dict[str, Any]]:
    """Decoded events with seq > after_seq; lines that do not parse are skipped."""
    start = len(lines)
    while start > 0:
        try:
            if line_seq(lines[start - 1]) <= after_seq:
                break
        except ValueError:
            pass
        start -= 1
    events = []
    for line in lines[start:]:
        try:
            event = json.loads(line)
        except ValueError:
            continue
        if isinstance(event, dict) and isinstance(event.get("seq"), int):
            events.append(event)
    return events


def write_atomically(path: Path, data: bytes) -> None:
    """Replace `path` atomically. No fsync: this is live state rewritten every moment; the history
    database keeps the durable copy."""
    write_bytes_atomic(path, data, durable=False)
