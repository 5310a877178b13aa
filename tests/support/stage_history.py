"""A synthetic stage log: many accounts and many runs, written straight into a new log in one
transaction (the tracker's own `insert`, so `seq`, `duration_s` and `current` are what a real run
writes). For the dashboard's tests and `scripts/bench_dashboard.py`.

    build_history(data_dir / "miner_status.json", accounts=1000, events=100_000, now=time.time())
"""

from __future__ import annotations

import random
import sqlite3
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from content_miner.common import layout
from content_miner.tracker import Clock
from content_miner.tracker.definitions import DEFAULTS
from content_miner.tracker.events import new_event
from content_miner.tracker.log_file import create
from content_miner.tracker.stage_log import insert

CLOCK_ID = "synthetic"
TYPICAL_S = {1: 4.0, 2: 1.5, 3: 25.0, 4: 2.0, 5: 8.0, 6: 1.5}
FAILURES = {
    1: ["Failed to scrape profile: HTTP 429 from the X API after 3 retries",
        "Failed to scrape profile: no X API bearer token (set X_BEARER_TOKEN)"],
    3: ["Embedding failed: out of memory after 512 posts"],
    5: ["No recommendations: only 4 usable posts"],
}


@dataclass
class _Clock:
    now: float

    def clock(self) -> Clock:
        return Clock(wall=lambda: self.now, mono=lambda: self.now, id=CLOCK_ID)


def account_name(index: int) -> str:
    return f"acct_{index:04d}"


def _plan_run(rng: random.Random, fail_rate: float) -> int | None:
    """The stage a run fails at, or None when it completes."""
    for number in range(1, 7):
        if number in FAILURES and rng.random() < fail_rate:
            return number
    return None


def _events_of(failing_at: int | None) -> int:
    return 15 if failing_at is None else 2 * failing_at


def _run(events: list[dict[str, Any]], clock: _Clock, rng: random.Random, username: str,
         failing_at: int | None) -> None:
    def add(status: str, number: int, message: str, details: Any = None, source: str = "module1") -> None:
        events.append(new_event(status, number, message, username, details, source=source, pid=1000,
                                clock=clock.clock(), names=DEFAULTS))

    for number in range(1, 7):
        add("running", number, f"Stage {number} work for {username}")
        clock.now += rng.lognormvariate(0, 0.5) * TYPICAL_S[number]
        if number == failing_at:
            add("failed", number, rng.choice(FAILURES[number]))
            return
        add("completed", number, f"Stage {number} done ({rng.randint(50, 400)} posts)", {"items": 200})
    add("completed", 7, f"Pipeline completed - {rng.randint(5, 15)} recommendations generated",
        {"plan": f"/data/exports/twitter/{username}/content_plan.json"})
    clock.now += 0.2
    add("running", 1, f"Rendering images for {username}", {"platform": "twitter"}, source="module2")
    clock.now += rng.lognormvariate(0, 0.3) * 0.4
    add("completed", 1, f"Rendered images for {username}", {"platform": "twitter"}, source="module2")


def build_history(status_file: Path, *, accounts: int = 1000, events: int = 100_000, now: float,
                  span_s: float = 7 * 86400, fail_rate: float = 0.05, seed: int = 12) -> int:
    """A new stage log beside `status_file` holding about `events` events of `accounts` accounts,
    spread over the `span_s` seconds before `now`; returns the number of events written."""
    rng = random.Random(seed)
    log_path = layout.stage_log_beside(status_file)
    log_path.parent.mkdir(parents=True, exist_ok=True)
    create(log_path, 0, now - span_s, replacing=False)
    built: list[dict[str, Any]] = []
    clock = _Clock(now - span_s)
    plans: list[int | None] = []
    planned = 0
    while planned < events - 15:
        plans.append(_plan_run(rng, fail_rate))
        planned += _events_of(plans[-1])
    every_s = (span_s - 300) / len(plans)  # a run starts this often (one takes ~45 s)
    for index, failing_at in enumerate(plans):
        clock.now = max(clock.now, now - span_s + index * every_s)
        _run(built, clock, rng, account_name(index % accounts), failing_at)
    db = sqlite3.connect(log_path, isolation_level=None)
    try:
        db.execute("BEGIN IMMEDIATE")
        insert(db, built)
        db.execute("COMMIT")
    finally:
        db.close()
    return len(built)
