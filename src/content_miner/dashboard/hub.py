"""The live side of the dashboard: one thread that follows the miner and tells every open page.

While at least one page listens, the hub reads the stage log's new events every `poll_s` (one
indexed query when there are none), the accounts whose entries changed (or are running: their
progress and ETA move) at least every second and on every new event, and the overview (modules,
queue, axon traffic, status line) every second. It sends each change once, as one JSON text shared
by all pages, so five open pages cost about what one does. With no page open it only samples the
axon's two counters every few seconds (for the per-minute rates), and the pages' own requests
refresh what they read (`accounts()`, `overview()`) when it is more than a second old.

Bounds: a burst of events is sent as its newest `MAX_PUSH_EVENTS` and a count of the rest; a page
that cannot keep up (its queue full) is disconnected, and its browser reconnects and reloads.
"""

from __future__ import annotations

import json
import logging
import math
import threading
import time
from collections.abc import Callable
from dataclasses import asdict
from typing import Any

from content_miner.tracker.live import LiveStage
from content_miner.tracker.stages import COMPLETED

from .accounts import account_rows
from .queries import LogEnd, current_entries, events_after, last_completions, log_end
from .sources import DashboardSources
from .traffic import CounterRate

log = logging.getLogger("content_miner.dashboard")

MAX_PUSH_EVENTS = 200
TAIL_LIMIT = 2_000  # events read per poll; a bigger burst skips ahead to the log's end
MAX_SUBSCRIBERS = 32
TOP_SUBMITTERS = 20
IDLE_SAMPLE_S = 5.0

Deliver = Callable[[str | None], None]  # a page's mailbox: a message, or None to end its stream


class TooManyViewers(Exception):
    pass


def to_json(payload: Any) -> str:
    """Compact JSON; non-finite numbers (which JSON lacks) become null."""
    try:
        return json.dumps(payload, separators=(",", ":"), allow_nan=False)
    except ValueError:
        return json.dumps(_finite(payload), separators=(",", ":"), allow_nan=False)


def _finite(value: Any) -> Any:
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, dict):
        return {key: _finite(item) for key, item in value.items()}
    if isinstance(value, (list, tuple)):
        return [_finite(item) for item in value]
    return value


def sse(kind: str, payload: Any) -> str:
    return f"event: {kind}\ndata: {to_json(payload)}\n\n"


class LiveHub:
    def __init__(self, sources: DashboardSources, *, poll_s: float = 0.25, rows_every_s: float = 1.0,
                 full_every_s: float = 10.0, overview_every_s: float = 1.0,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.sources = sources
        self.poll_s = poll_s
        self.rows_every_s = rows_every_s
        self.full_every_s = full_every_s
        self.overview_every_s = overview_every_s
        self.clock = clock
        self._lock = threading.RLock()  # the hub's state; one refresh at a time
        self._subscribers: dict[int, Deliver] = {}
        self._next_id = 0
        self._wake = threading.Event()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        pipeline = next((s for s in sources.definitions.sources.values() if s.pipeline), None)
        last = pipeline.last_stage() if pipeline else None
        self._plan_stage: tuple[str, int] | None = (pipeline.source, last) if pipeline and last is not None else None
        # what the pages have been told
        self.end = LogEnd(None, 0, 0)
        self._rows: dict[str, dict[str, Any]] = {}
        self._own: dict[str, dict[str, Any]] = {}  # each source's own entry (no account): idle, starting...
        self._live: dict[tuple[str, str], LiveStage] = {}  # every current entry, as last read (for the status line)
        self._last_plans: dict[str, float] = {}
        self._rows_at: float | None = None
        self._full_at: float | None = None
        self._seen: tuple[int, float] = (0, 0.0)  # (seq, wall time) of the last refresh of the rows
        self._overview: dict[str, Any] | None = None
        self._overview_at: float | None = None
        self._sampled_at: float | None = None
        self.requests = CounterRate()
        self.refusals = CounterRate()
        self.errors: dict[str, str] = {}

    # -- life ---------------------------------------------------------------------------------

    def start(self) -> LiveHub:
        self._thread = threading.Thread(target=self._run, name="dashboard-hub", daemon=True)
        self._thread.start()
        return self

    def stop(self, timeout: float = 1.0) -> None:
        self._stop.set()
        self._wake.set()
        with self._lock:
            subscribers = list(self._subscribers.values())
            self._subscribers.clear()
        for deliver in subscribers:
            deliver(None)
        if self._thread is not None:
            self._thread.join(timeout)

    def subscribe(self, deliver: Deliver) -> int:
        with self._lock:
            if len(self._subscribers) >= MAX_SUBSCRIBERS:
                raise TooManyViewers(f"at most {MAX_SUBSCRIBERS} live pages at once")
            if not self._subscribers:  # the first page: what happened before it is not news to it
                self.end = LogEnd(None, 0, 0)
            self._next_id += 1
            self._subscribers[self._next_id] = deliver
        self._wake.set()
        return self._next_id

    def unsubscribe(self, token: int) -> None:
        with self._lock:
            self._subscribers.pop(token, None)

    @property
    def viewers(self) -> int:
        return len(self._subscribers)

    # -- what requests read ---------------------------------------------------------------------

    def accounts(self) -> dict[str, dict[str, Any]]:
        """Every account's row, refreshed when older than `rows_every_s`. While pages listen the hub's
        thread keeps them fresh (a refresh here would take the change it must tell them about)."""
        with self._lock:
            now = self.clock()
            stale = self._rows_at is None or now - self._rows_at >= self.rows_every_s
            if stale and (not self._subscribers or self._rows_at is None):
                self._refresh_rows(full=self._full_at is None or now - self._full_at >= self.full_every_s)
            return self._rows

    def overview(self) -> dict[str, Any]:
        with self._lock:
            now = self.clock()
            if self._overview is None or self._overview_at is None or now - self._overview_at >= self.overview_every_s:
                self.accounts()
                self._refresh_overview()
            assert self._overview is not None
            return self._overview

    # -- the thread ---------------------------------------------------------------------------

    def _run(self) -> None:
        while not self._stop.is_set():
            try:
                if self._subscribers:
                    self._tick()
                    self._stop.wait(self.poll_s)
                else:
                    self._sample_counters()
                    self._wake.wait(IDLE_SAMPLE_S)
                    self._wake.clear()
            except Exception as exc:  # the hub must outlive any surprise; say it once per kind
                self._note_error("hub", exc)
                self._stop.wait(1.0)

    def _tick(self) -> None:
        with self._lock:
            new = self._tail()
            now = self.clock()
            if new or self._rows_at is None or now - self._rows_at >= self.rows_every_s:
                full = self._full_at is None or now - self._full_at >= self.full_every_s
                changed, removed = self._refresh_rows(full=full)
                if changed or removed:
                    self._publish(sse("accounts", {"rows": changed, "removed": removed, "total": len(self._rows)}))
            if self._overview_at is None or now - self._overview_at >= self.overview_every_s:
                self._refresh_overview()
                self._publish(sse("overview", self._overview))

    def _tail(self) -> int:
        """Send the events written since the last poll; how many there were."""
        cursor = self.end

        def query(db: Any) -> tuple[LogEnd, list[dict[str, Any]]]:
            end = log_end(db)
            if end.log_id != cursor.log_id or end.last_seq < cursor.last_seq:  # a new log
                return end, []
            return end, events_after(db, cursor.last_seq, TAIL_LIMIT) if end.last_seq > cursor.last_seq else []

        try:
            end, found = self.sources.read_log(query)
        except Exception as exc:
            self._note_error("stage log", exc)
            return 0
        self.errors.pop("stage log", None)
        if cursor.log_id is None and cursor.last_seq == 0:  # the first poll: nothing is news yet
            self.end = end
            return 0
        if end.log_id != cursor.log_id or end.last_seq < cursor.last_seq:
            self.end = end
            self._full_at = None
            self._publish(sse("reload", {"reason": "the stage log was replaced"}))
            return 1
        self.end = end
        if not found:
            return 0
        skipped = end.last_seq - found[-1]["seq"] if len(found) == TAIL_LIMIT else 0
        self.end = LogEnd(end.log_id, found[-1]["seq"] + skipped, end.reset_seq)
        self._note_plans(found)
        shown = found[-MAX_PUSH_EVENTS:]
        self._publish(sse("events", {"events": shown, "skipped": len(found) - len(shown) + skipped,
                                     "last_seq": self.end.last_seq}))
        return len(found)

    def _note_plans(self, found: list[dict[str, Any]]) -> None:
        if self._plan_stage is None:
            return
        source, stage = self._plan_stage
        for item in found:
            if item["source"] == source and item["stage_number"] == stage and item["status"] == COMPLETED \
                    and item["username"]:
                self._last_plans[item["username"]] = item["ts"]

    # -- refreshing ----------------------------------------------------------------------------

    def _refresh_rows(self, *, full: bool) -> tuple[list[dict[str, Any]], list[str]]:
        """Read the changed accounts (all of them when `full`); the rows that changed and the
        accounts that are gone (only a full read can tell)."""
        since = None if full else self._seen
        wall = self.sources.now()
        plan_stage = self._plan_stage

        def query(db: Any) -> tuple[LogEnd, dict[str, dict[str, dict[str, Any]]], dict[str, float] | None]:
            end = log_end(db)
            plans = last_completions(db, *plan_stage) if full and plan_stage else None
            return end, current_entries(db, changed_since=since), plans

        try:
            end, entries, plans = self.sources.read_log(query)
            stages = self.sources.live({"current": entries})
        except Exception as exc:
            self._note_error("accounts", exc)
            self._rows_at = self.clock()
            return [], []
        self.errors.pop("accounts", None)
        if plans is not None:
            self._last_plans = plans
        self._rows_at = self.clock()
        if full:
            self._full_at = self._rows_at
        self._seen = (end.last_seq, wall)
        for stage in stages:
            if not stage.username:
                self._own[stage.source] = {"source": stage.source, "stage_number": stage.stage_number,
                                           "stage_name": stage.stage_name, "state": stage.state,
                                           "message": entries[stage.source][""].get("message", ""),
                                           "since": entries[stage.source][""].get("since")}
        if full:
            self._live = {}
        self._live.update({(stage.source, stage.username): stage for stage in stages})
        rows = account_rows(stages, entries, self.sources.definitions, self._last_plans)
        changed = [row for name, row in rows.items() if self._rows.get(name) != row]
        removed = sorted(set(self._rows) - set(rows)) if full else []
        if full:
            self._rows = rows
        else:
            self._rows.update(rows)
        return changed, removed

    def _sample_counters(self) -> None:
        now = self.clock()
        if self._sampled_at is not None and now - self._sampled_at < 0.5:
            return
        self._sampled_at = now
        wall = self.sources.now()
        for rate, read, part in ((self.requests, self.sources.axon_requests, "axon requests"),
                                 (self.refusals, self.sources.axon_refusals, "axon refusals")):
            try:
                rate.add(now, read(), wall)
            except Exception as exc:
                self._note_error(part, exc)

    def _refresh_overview(self) -> None:
        self._sample_counters()
        self._overview_at = self.clock()
        parts: dict[str, Any] = {"time": self.sources.now(), "viewers": self.viewers}
        readers: list[tuple[str, Callable[[], Any]]] = [
            ("miner", lambda: dict(self.sources.miner())),
            ("status_line", lambda: self.sources.status_line(list(self._live.values()))),
            ("modules", lambda: [asdict(module) for module in self.sources.modules()]),
            ("queue", self._queue),
        ]
        for name, read in readers:
            try:
                parts[name] = read()
            except Exception as exc:
                parts[name] = None
                self._note_error(name, exc)
        parts["axon"] = {"requests_per_min": self.requests.per_minute(), "refusals_per_min": self.refusals.per_minute(),
                         "requests_total": self.requests.total(), "refusals_total": self.refusals.total(),
                         "requests_history": self.requests.history(), "refusals_history": self.refusals.history()}
        states: dict[str, int] = {}
        for row in self._rows.values():
            states[row["state"]] = states.get(row["state"], 0) + 1
        parts["accounts"] = {"total": len(self._rows), "by_state": states,
                             "stalled": sum(1 for row in self._rows.values() if row["stalled"]),
                             "crashed": sum(1 for row in self._rows.values() if row["crashed"])}
        parts["module_stages"] = sorted(self._own.values(), key=lambda own: own["source"])
        parts["last_seq"] = max(self.end.last_seq, self._seen[0])
        parts["errors"] = dict(self.errors)
        self._overview = parts

    def _queue(self) -> dict[str, Any] | None:
        summary = self.sources.queue()
        if summary is None:
            return None
        top = sorted(summary.by_submitter.items(), key=lambda item: (-item[1], item[0]))
        return {"queued": summary.queued, "running": summary.running, "oldest_queued_at": summary.oldest_queued_at,
                "by_submitter": [list(item) for item in top[:TOP_SUBMITTERS]],
                "submitters": len(top)}

    # -- telling the pages ----------------------------------------------------------------------

    def _publish(self, text: str) -> None:
        for deliver in list(self._subscribers.values()):
            deliver(text)

    def _note_error(self, part: str, exc: BaseException) -> None:
        first = part not in self.errors
        self.errors[part] = f"{type(exc).__name__}"
        if first:  # once per part until it works again: a broken part must not flood the log
            log.warning("dashboard: cannot read %s: %s: %s", part, type(exc).__name__, str(exc)[:200])
