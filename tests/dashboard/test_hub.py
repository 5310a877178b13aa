"""The hub tells open pages what changed: new events, changed account rows (progress included), the
overview; a burst is sent as its newest events and a count; a broken part is left out, said once."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from typing import Any

import pytest

from content_miner.dashboard import ModuleFacts
from content_miner.dashboard import hub as hub_module
from content_miner.dashboard.hub import MAX_PUSH_EVENTS, LiveHub
from content_miner.pipeline.jobs import QueueSummary
from support.waiting import wait_for


class Page:
    """What one open page receives."""

    def __init__(self) -> None:
        self.messages: list[tuple[str, Any]] = []
        self.ended = False
        self._lock = threading.Lock()

    def __call__(self, text: str | None) -> None:
        with self._lock:
            if text is None:
                self.ended = True
                return
            kind, data = text.split("\n", 1)
            self.messages.append((kind.removeprefix("event: "), json.loads(data.removeprefix("data: "))))

    def of(self, kind: str) -> list[Any]:
        with self._lock:
            return [data for found, data in self.messages if found == kind]

    def row(self, username: str) -> dict[str, Any] | None:
        rows = [row for message in self.of("accounts") for row in message["rows"] if row["username"] == username]
        return rows[-1] if rows else None


@pytest.fixture
def hub_of() -> Iterator[Any]:
    hubs: list[LiveHub] = []

    def start(sources: Any) -> LiveHub:
        hubs.append(LiveHub(sources, poll_s=0.05).start())
        return hubs[-1]

    yield start
    for hub in hubs:
        hub.stop()


def test_events_and_account_changes_reach_every_open_page(empty, hub_of) -> None:
    hub = hub_of(empty.sources())
    pages = [Page(), Page()]
    for page in pages:
        hub.subscribe(page)
    wait_for(lambda: all(page.of("overview") for page in pages), timeout=10, what="a first overview")
    tracker = empty.tracker
    tracker.stage_start(1, "Processing twitter account", "alice")
    assert tracker.flush(5.0)
    for page in pages:
        wait_for(lambda: any(e["username"] == "alice" for m in page.of("events") for e in m["events"]),  # noqa: B023
                 timeout=10, what="alice's event")
        wait_for(lambda: (page.row("alice") or {}).get("state") == "running", timeout=10,  # noqa: B023
                 what="alice's row, running")
    tracker.stage_progress(1, 5, 10, "alice")  # progress is no event: the row still changes
    wait_for(lambda: (pages[0].row("alice") or {}).get("progress") == [5, 10], timeout=10, what="alice's progress")
    tracker.stage_failed(1, "Failed to scrape profile: HTTP 404", "alice")
    assert tracker.flush(5.0)
    wait_for(lambda: (pages[1].row("alice") or {}).get("state") == "failed", timeout=10, what="alice failed")
    messages = [data for message in pages[0].of("events") for data in message["events"]]
    assert [e["status"] for e in messages if e["username"] == "alice"] == ["running", "failed"]


def test_a_burst_is_sent_as_its_newest_events_and_a_count(empty, hub_of) -> None:
    hub = hub_of(empty.sources())
    page = Page()
    hub.subscribe(page)
    wait_for(lambda: page.of("overview"), timeout=10, what="a first overview")
    hub._lock.acquire()  # hold the hub while the burst is written: it arrives in one poll
    try:
        for index in range(1000):
            empty.tracker.stage_start(1, f"burst {index}", f"user{index}")
        assert empty.tracker.flush(10.0)
    finally:
        hub._lock.release()
    wait_for(lambda: sum(len(m["events"]) + m["skipped"] for m in page.of("events")) >= 1000, timeout=20,
             what="the burst")
    first = page.of("events")[0]
    assert len(first["events"]) == MAX_PUSH_EVENTS and first["skipped"] == 1000 - MAX_PUSH_EVENTS
    assert first["events"][-1]["message"] == "burst 999"


def test_the_overview_shows_modules_queue_traffic_and_leaves_a_broken_part_out(empty, hub_of, monkeypatch) -> None:
    requests = iter(range(0, 10**6, 30))
    warned: list[str] = []  # (bittensor, once imported, disables other libraries' loggers: not caplog)
    monkeypatch.setattr(hub_module.log, "warning", lambda text, *args: warned.append(text % args))

    def broken() -> QueueSummary:
        raise OSError("jobs.sqlite3 is locked")

    modules = [ModuleFacts("Module 1", "module1", "Running", 123, 5.0, 2, 1 << 20)]
    hub = hub_of(empty.sources(modules=lambda: modules, queue=broken, axon_requests=lambda: next(requests),
                               status_line=lambda stages: f"📈 Miner Status: Mode: watchdog ({len(stages)})"))
    page = Page()
    hub.subscribe(page)
    wait_for(lambda: len(page.of("overview")) >= 3, timeout=20, what="three overviews")
    latest = page.of("overview")[-1]
    assert latest["modules"] == [{"label": "Module 1", "source": "module1", "state": "Running", "pid": 123,
                                  "uptime_s": 5.0, "restarts": 2, "rss_bytes": 1 << 20}]
    assert latest["queue"] is None and latest["errors"]["queue"] == "OSError"
    assert latest["axon"]["requests_per_min"] > 0 and latest["axon"]["refusals_per_min"] is None
    assert latest["status_line"].endswith("Mode: watchdog (1)")  # over the live stages: module1's own
    assert [line for line in warned if "cannot read queue" in line] == [
        "dashboard: cannot read queue: OSError: jobs.sqlite3 is locked"]  # once, though read every second


def test_with_no_page_open_the_hub_reads_nothing_but_the_counters(empty, hub_of) -> None:
    reads: list[int] = []
    sources = empty.sources()
    read = sources.read_log

    def counting(query: Any) -> Any:
        reads.append(1)
        return read(query)

    sources.read_log = counting
    hub = hub_of(sources)
    counter = iter(range(10**6))
    sources.axon_requests = lambda: next(counter)
    wait_for(lambda: hub.requests.total() is not None, timeout=10, what="a counter sample")
    assert reads == []
    assert hub.accounts() == {}  # a request reads what it needs itself
    assert reads
