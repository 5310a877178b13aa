"""The history command (`content-miner-status history`), run as a real process on a stage log written
by the real tracker: its figures equal an independent count from the database, and it never writes
anything into the data directory."""

from __future__ import annotations

import json
import os
import random
import sqlite3
import subprocess
import sys
import time
from collections import Counter, defaultdict
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from PIL import Image

from content_miner.tracker import MinerStageTracker
from support.tracker import SteppedClock

COMMAND = [sys.executable, "-m", "content_miner.tracker.status_command", "history"]
DAY = 86400.0
ACCOUNTS = 40


def _run(*args: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("MINER_") and k != "MPLCONFIGDIR"}
    env["COLUMNS"] = "220"
    return subprocess.run([*COMMAND, *args], capture_output=True, text=True, timeout=120, env=env)


def _populate(data: Path) -> None:
    """Accounts through Module 1's stages (random durations, some failing at Stage 1 or 3, one stage
    cut short by a planned stop), Module 2 rendering, and a few accounts more than a day ago (outside
    the window). Every event is at least 10 minutes from the window's edges."""
    rng = random.Random(7)
    clock = SteppedClock(wall=time.time() - 1.5 * DAY)
    tracker = MinerStageTracker(data / "miner_status.json", clock=clock.clock)
    for index in range(ACCOUNTS):
        if index == 6:  # the rest are inside the last 24 hours
            clock.advance(0.5 * DAY)
        user = f"creator_{index:02d}"
        for stage in range(1, 7):
            tracker.stage_start(stage, f"Stage {stage} for {user}", user, source="module1")
            clock.advance(rng.uniform(0.5, 4.0) * stage * (8 if user == "creator_17" and stage == 3 else 1))
            if stage == 1 and index % 9 == 4:
                tracker.stage_failed(1, f"Failed to scrape profile: HTTP 404 for {user}", user, source="module1")
                break
            if stage == 3 and index % 11 == 5:
                tracker.stage_failed(3, f"Module 1 crashed (killed by SIGKILL) after {rng.uniform(10, 99):.1f}s", user,
                                     {"crashed": True, "interrupted": False}, source="module1")
                break
            if stage == 5 and index == 30:
                tracker.stage_failed(5, "interrupted: the miner stopped while this stage was running", user,
                                     {"interrupted": True}, source="module1")
                break
            tracker.stage_complete(stage, f"Stage {stage} done", user, source="module1")
        else:
            tracker.stage_complete(7, "Pipeline completed - 12 recommendations generated", user, source="module1")
            tracker.stage_start(1, f"Rendering images for {user}", user, source="module2")
            clock.advance(rng.uniform(0.2, 2.0))
            tracker.stage_complete(1, "Rendered", user, source="module2")
        clock.advance(rng.uniform(60, 900))
    assert clock.now < time.time() - 600
    tracker.close()


@pytest.fixture(scope="module")
def data(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("history")
    _populate(root)
    return root


def _independent(data: Path, since_s: float) -> dict[str, Any]:
    """The figures, counted here in Python from every row of the log (no SQL aggregation)."""
    db = sqlite3.connect(f"file:{data / 'stage_log.sqlite3'}?immutable=1", uri=True)
    rows = db.execute("SELECT ts, source, username, stage_number, stage_name, status, message, details, "
                      "duration_s FROM events").fetchall()
    db.close()
    start = time.time() - since_s
    counts: dict[tuple[str, int], Counter[str]] = defaultdict(Counter)
    durations: dict[tuple[str, int], list[float]] = defaultdict(list)
    longest: dict[tuple[str, str], float] = {}
    reasons: Counter[tuple[str, int, str]] = Counter()
    for ts, source, user, number, _name, status, message, details, seconds in rows:
        if ts < start:
            continue
        key = (source, number)
        interrupted = bool((json.loads(details) or {}).get("interrupted")) if details else False
        counts[key]["interrupted" if status == "failed" and interrupted else status] += 1
        if status == "completed" and seconds is not None:
            durations[key].append(seconds)
            if user:
                longest[(source, user)] = max(longest.get((source, user), 0.0), seconds)
        if status == "failed" and not interrupted:
            reasons[(source, number, message)] += 1
    return {"counts": counts, "durations": durations, "longest": longest, "reasons": reasons}


def test_figures_equal_an_independent_count_from_the_database(data: Path) -> None:
    result = _run("--data-dir", str(data), "--since", "24h", "--json")
    assert result.returncode == 0, result.stderr
    report = json.loads(result.stdout)
    truth = _independent(data, DAY)

    stages = {(s["source"], s["stage_number"]): s for s in report["stages"]}
    assert set(stages) == set(truth["counts"])
    for key, counted in truth["counts"].items():
        figure = stages[key]
        assert (figure["started"], figure["completed"], figure["failed"], figure["interrupted"]) == (
            counted["running"], counted["completed"], counted["failed"], counted["interrupted"]), key
        ended = counted["completed"] + counted["failed"]
        assert figure["success_rate"] == (pytest.approx(counted["completed"] / ended) if ended else None)
        seconds = truth["durations"].get(key)
        if seconds:
            assert figure["p50_s"] == pytest.approx(float(np.percentile(seconds, 50)))
            assert figure["p95_s"] == pytest.approx(float(np.percentile(seconds, 95)))
            assert figure["max_s"] == pytest.approx(max(seconds))
    assert stages[("module1", 1)]["failed"] == 3 and stages[("module1", 5)]["interrupted"] == 1  # the data's shape
    assert report["events"] == sum(sum(c.values()) for c in truth["counts"].values())

    slowest = [(a["source"], a["username"], a["longest_s"]) for a in report["slowest_accounts"]]
    expected = sorted(truth["longest"].items(), key=lambda item: -item[1])[:10]
    assert [(s, u) for s, u, _ in slowest] == [key for key, _ in expected]
    assert [pytest.approx(v) for _, _, v in slowest] == [v for _, v in expected]
    assert slowest[0][1] == "creator_17"  # its Stage 3 took 8 times longer

    reasons = {(r["source"], r["stage_number"], r["reason"]): r["count"] for r in report["failure_reasons"]}
    assert reasons == {("module1", 1, "Failed to scrape profile: HTTP 404 for <account>"): 3,  # codes stay
                       ("module1", 3, "Module 1 crashed (killed by SIGKILL) after #s"): 3}  # durations go
    assert sum(reasons.values()) == sum(truth["reasons"].values())

    over_time = {(s["source"], s["stage_number"]): s["buckets"] for s in report["durations_over_time"]}
    assert report["window"]["bucket_s"] == 3600
    for key, buckets in over_time.items():
        assert sum(b["count"] for b in buckets) == len(truth["durations"][key])


def test_a_wider_window_takes_in_the_older_accounts(data: Path) -> None:
    report = json.loads(_run("--data-dir", str(data), "--since", "2d", "--json").stdout)
    truth = _independent(data, 2 * DAY)
    stages = {(s["source"], s["stage_number"]): s for s in report["stages"]}
    assert stages[("module1", 7)]["completed"] == truth["counts"][("module1", 7)]["completed"]
    assert stages[("module1", 1)]["started"] == ACCOUNTS
    assert report["window"]["bucket_s"] == 3600


def test_tables_sparklines_and_chart_and_nothing_written_in_the_data_dir(data: Path, tmp_path: Path) -> None:
    before = sorted(p.name for p in data.iterdir())
    chart = tmp_path / "durations.png"
    result = _run("--data-dir", str(data), "--since", "24h", "--chart", str(chart))
    assert result.returncode == 0, result.stderr
    out = result.stdout
    assert "Stage history - last 24h" in out and "Slowest accounts" in out and "Top failure reasons" in out
    row = next(line for line in out.splitlines() if "3 Vector Database" in line)
    assert any(mark in row for mark in "▁▂▃▄▅▆▇█"), row
    assert "creator_17" in out and "Failed to scrape profile: HTTP 404 for <account>" in out
    with Image.open(chart) as image:
        assert image.format == "PNG" and image.width >= 600 and image.height >= 400
        assert len(image.convert("RGB").getcolors(maxcolors=1_000_000) or []) > 20  # drawn, not blank
    assert sorted(p.name for p in data.iterdir()) == before == ["miner_status.json", "stage_log.sqlite3"], \
        "no -wal, -shm or font cache beside the log"


def test_reads_what_a_live_writer_has_not_checkpointed_yet_and_creates_nothing(tmp_path: Path) -> None:
    writer = MinerStageTracker(tmp_path / "miner_status.json", source="module1")
    writer.stage_start(2, "Validating", "live_one")
    writer.stage_complete(2, "Validated", "live_one")
    assert writer.flush()
    assert (tmp_path / "stage_log.sqlite3-wal").exists(), "the writer's connection is open: its WAL is there"
    before = sorted(p.name for p in tmp_path.glob("stage_log*"))
    report = json.loads(_run("--data-dir", str(tmp_path), "--since", "30m", "--json").stdout)
    stage = next(s for s in report["stages"] if s["stage_number"] == 2)
    assert (stage["started"], stage["completed"]) == (1, 1)
    assert sorted(p.name for p in tmp_path.glob("stage_log*")) == before
    writer.close()


def test_missing_log_and_bad_window_are_one_line_each(tmp_path: Path) -> None:
    missing = _run("--data-dir", str(tmp_path / "nowhere"))
    assert missing.returncode == 1 and missing.stderr.count("\n") == 1 and "no stage log" in missing.stderr
    assert not (tmp_path / "nowhere").exists()
    bad = _run("--data-dir", str(tmp_path), "--since", "yesterday")
    assert bad.returncode == 2 and bad.stderr.count("\n") == 1 and "not a duration" in bad.stderr
    ages = _run("--data-dir", str(tmp_path), "--since", "99999999d")
    assert ages.returncode == 2 and ages.stderr.count("\n") == 1 and "at most 3650d" in ages.stderr
