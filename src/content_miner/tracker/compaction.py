"""Folding journal events into the status file, and reading the two as one.

Compaction (under the writers' lock): read the status file and the journal, fold the journal's
events into the live state and the ring, replace the status file, then replace the journal with
an empty one whose base is the status file's last seq. A writer killed between the two renames
leaves a journal whose events the status file already has; they are skipped by seq, so nothing is
counted twice.

Readers take no lock: they read the status file, then the journal, and fold the journal on a copy.
If a compaction ran between their two reads (the journal starts after the status file ends), they
read again.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from . import journal as journal_file
from . import status_file
from .events import encode_event
from .journal import CorruptJournal, Journal
from .live_state import apply_event
from .status_file import CorruptStatusFile, StatusDocument

READ_ATTEMPTS = 5


def fold(document: StatusDocument, journal: Journal, ring_size: int) -> list[dict[str, Any]]:
    """Apply the journal's new events to `document` (in place); returns them, decoded and folded."""
    folded = []
    for line in journal.lines:
        try:
            event = json.loads(line)
        except ValueError:
            continue  # a damaged line is skipped, the rest still count
        if not isinstance(event, dict) or not isinstance(event.get("seq"), int):
            continue
        if event["seq"] <= document.last_seq:
            continue  # already folded by an earlier compaction
        seq = event["seq"]
        document.header["last_seq"] = seq - 1  # keep the journal's numbering, gaps included
        apply_event(document.header, event)
        folded.append(event)
    document.append([encode_event(event) for event in folded], ring_size)
    return folded


@dataclass
class LiveView:
    """The status file and the journal read together, as of one moment."""

    document: StatusDocument | None
    journal_events: list[dict[str, Any]] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)

    @property
    def log_id(self) -> str | None:
        return self.document.log_id if self.document else None

    @property
    def last_seq(self) -> int:
        return self.document.last_seq if self.document else 0

    def first_seq(self) -> int:
        if self.document and self.document.body:
            return self.document.first_seq()
        if self.journal_events:
            return self.journal_events[0]["seq"]
        return self.last_seq + 1

    def events_after(self, after_seq: int) -> list[dict[str, Any]]:
        ring = status_file.decode_lines(self.document.lines(), after_seq) if self.document else []
        return ring + [event for event in self.journal_events if event["seq"] > after_seq]


def read_view(status_path: Path, ring_size: int) -> LiveView:
    """A consistent view without taking the lock. Never raises for file trouble."""
    journal_path = journal_file.journal_path(status_path)
    problems: list[str] = []
    for _ in range(READ_ATTEMPTS):
        problems = []
        try:
            document = status_file.read(status_path)
        except (OSError, CorruptStatusFile) as exc:
            document = None
            problems.append(f"status file: {exc}")
        try:
            journal = journal_file.read(journal_path)
        except (OSError, CorruptJournal, ValueError) as exc:
            journal = None
            problems.append(f"journal: {exc}")
        if journal is None:
            return LiveView(document, [], problems)
        if document is None:
            document = StatusDocument.new(0.0, log_id=journal.log_id, last_seq=journal.base_seq)
        elif document.log_id != journal.log_id or journal.base_seq > document.last_seq:
            continue  # a compaction ran between the two reads
        header_only = StatusDocument(json.loads(json.dumps(document.header)), b"")  # a fast deep copy
        folded = fold(header_only, journal, ring_size)
        return LiveView(StatusDocument(header_only.header, document.body), folded, problems)
    return LiveView(None, [], problems + ["status file changed during every read attempt"])
