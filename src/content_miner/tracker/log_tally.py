"""Running totals of the stage log since a starting point: transitions by source, stage and status, and
a histogram of completed durations by source and stage. What the miner's /metrics counters show.

The totals are the log's own figures, read by `seq` (each event counted once, whichever process wrote
it); nothing counts events as they happen, so they cannot drift from the log. They start at the log's
end when the miner starts (a Prometheus counter starts at zero with its process), not at the log's
first row: a COUNT(*) over the log would go down when retention prunes old rows and start again at
the whole log's size after a restart, which Prometheus would read as a reset followed by that many
new transitions (false rates, false alerts). Each update reads only the events written since the
last one, so a scrape costs what happened since the previous scrape, not the size of the log.
"""

from __future__ import annotations

import bisect
import json
import sqlite3
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from .stage_log import CURRENT
from .stages import COMPLETED

# `tracker.read`: runs a query on one consistent view of the log, or returns the default it is given.
Reader = Callable[[Callable[[sqlite3.Connection], Any], None], Any]

# Stages last from under a second (retrieval of a cached account) to an hour (indexing a large one).
DURATION_BUCKETS_S = (0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0, 120.0, 300.0, 600.0, 1200.0, 1800.0, 3600.0, 7200.0)
READ_BATCH = 20_000  # events per query
MAX_BATCHES = 10  # per update: a backlog larger than this is read over the next scrapes


@dataclass
class DurationHistogram:
    counts: list[int] = field(default_factory=lambda: [0] * (len(DURATION_BUCKETS_S) + 1))  # last: above all
    total_s: float = 0.0

    def add(self, seconds: float) -> None:
        self.counts[bisect.bisect_left(DURATION_BUCKETS_S, seconds)] += 1
        self.total_s += seconds

    def cumulative(self) -> list[tuple[str, int]]:
        """Prometheus's buckets: (`le`, how many at most that long), ending with `+Inf`."""
        running, found = 0, []
        for bound, count in zip((*(f"{b:g}" for b in DURATION_BUCKETS_S), "+Inf"), self.counts, strict=True):
            running += count
            found.append((bound, running))
        return found

    @property
    def count(self) -> int:
        return sum(self.counts)


@dataclass(frozen=True)
class TallySnapshot:
    transitions: dict[tuple[str, int, str], int]  # (source, stage, status) -> events
    durations: dict[tuple[str, int], DurationHistogram]  # (source, stage) -> completed runs
    last_seq: int  # the last event counted
    read: bool = True  # False: the log could not be read this time (or there is none yet); totals as they were


class LogTally:
    """Totals from `start_seq` on (exclusive), brought up to date by `update` under a lock."""

    def __init__(self, start_seq: int) -> None:
        self.seq = start_seq
        self._transitions: dict[tuple[str, int, str], int] = {}
        self._durations: dict[tuple[str, int], DurationHistogram] = {}
        self._lock = threading.Lock()

    def update(self, read: Reader) -> TallySnapshot:
        """Count the events after the last one counted; `read(query, None)` runs a query on the log
        (None: no log, or none readable now). The totals so far, with `read` False if it failed."""
        with self._lock:
            read_all = True
            for _ in range(MAX_BATCHES):
                rows = read(self._rows, None)
                if rows is None:
                    read_all = False
                    break
                for seq, source, number, status, seconds in rows:
                    self.seq = seq
                    if not isinstance(number, int):
                        continue
                    key = (source, number, status)
                    self._transitions[key] = self._transitions.get(key, 0) + 1
                    if status == COMPLETED and seconds is not None:
                        self._durations.setdefault((source, number), DurationHistogram()).add(float(seconds))
                if len(rows) < READ_BATCH:
                    break
            durations = {key: DurationHistogram(list(h.counts), h.total_s) for key, h in self._durations.items()}
            return TallySnapshot(dict(self._transitions), durations, self.seq, read_all)

    def _rows(self, db: sqlite3.Connection) -> list[tuple[int, str, object, str, float | None]]:
        return db.execute("SELECT seq, source, stage_number, status, duration_s FROM events WHERE seq > ? "
                          "ORDER BY seq LIMIT ?", (self.seq, READ_BATCH)).fetchall()



def active_current(db: sqlite3.Connection) -> dict[str, dict[str, dict[str, Any]]]:
    """The `current` entries /metrics counts, shaped as `stage_log.current` gives them: running stages and
    stages failed by their module's crash. The others (completed, failed, most of the log's accounts) are
    not read at all: a scrape costs what is running, not how many accounts the miner ever served."""
    query = (f"SELECT source, username, {CURRENT} FROM current WHERE status = 'running' OR "
             "(status = 'failed' AND json_extract(details, '$.crashed') = 1)")
    found: dict[str, dict[str, dict[str, Any]]] = {}
    for row in db.execute(query):
        entry = dict(zip(CURRENT.split(", "), row[2:], strict=True))
        entry["details"] = None if entry["details"] is None else json.loads(entry["details"])
        found.setdefault(row[0], {})[row[1]] = entry
    return found
