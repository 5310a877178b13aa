"""Module 1 as the operator and the miner run it: direct mode and watchdog mode, real processes."""

from __future__ import annotations

import hashlib
import json
import os
import signal
import time
from pathlib import Path

import pytest

from support.module1 import module1_env, module1_events, run_direct, start_watchdog, wait_for, write_source
from support.x_api import TOKEN, FakeXApi, api_post

NAMES = ["Initialization", "Data Scraping", "Data Retrieval", "Vector Database", "Time Series Analysis",
         "Content Generation", "Exportation", "Complete"]


def _digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def test_direct_mode_processes_one_account_and_prints_every_stage_line(tmp_path: Path) -> None:
    source = write_source(tmp_path / "export" / "posts.jsonl", posts=80)
    before = _digest(source)
    data = tmp_path / "data"
    home = tmp_path / "home"
    home.mkdir()
    env = {k: v for k, v in module1_env(HOME=str(home)).items() if not k.startswith("XDG_") and k != "MPLCONFIGDIR"}
    result = run_direct(data, "--platform", "twitter", "--username", "DemoUser", "--source", str(source),
                        "--force-fresh", env=env)
    assert result.returncode == 0, result.stderr
    assert list(home.iterdir()) == [], "nothing is written outside the data directory (matplotlib, onnxruntime)"
    lines = result.stdout.splitlines()
    assert lines[0] == "[INFO] ⚙️  Stage 0 - Initialization: Direct processing mode for twitter account: DemoUser"
    assert "[INFO] ⚙️  Stage 1 - Data Scraping for demouser: Force fresh scraping for demouser" in lines
    started = [line.split(" - ", 1)[1].split(":")[0].split(" for ")[0] for line in lines if "⚙️" in line]
    assert started == NAMES[:7]
    plan_path = data / "exports" / "twitter" / "demouser" / "content_plan.json"
    plan = json.loads(plan_path.read_text())
    # As many recommendations as topics above the account's average support (up to 15): on this
    # 80-post account that is fewer than 15, and the plan's notes say why.
    count = len(plan["recommendations"])
    assert plan["username"] == "demouser" and 1 <= count <= 15
    assert count == 15 or any("recommendations instead of 15" in note for note in plan["notes"])
    assert lines[-2] == (
        f"[INFO] ✅ Stage 7 Complete - Complete for demouser - Pipeline completed - {count} recommendations generated"
    )
    assert lines[-1] == f"Content plan for demouser: {plan_path} ({count} recommendations)"
    assert _digest(source) == before, "the input is never modified"
    statuses = {(e["stage_number"], e["status"]) for e in module1_events(data)}
    assert {(n, "completed") for n in range(1, 8)} <= statuses


@pytest.mark.parametrize(
    "args, code, reason",
    [
        (["--platform", "myspace", "--username", "tom"], 2, "unknown platform"),
        (["--username", "../../etc/passwd"], 2, "username"),
        (["--username", "a" * 40], 2, "username"),
        (["--username", "ghost", "--source", "/nonexistent/tweets.js"], 1,
         "Stage 1 failed for ghost: source file not found"),
    ],
)
def test_direct_mode_bad_input_is_one_line_and_a_non_zero_exit(tmp_path: Path, args, code, reason) -> None:
    result = run_direct(tmp_path / "data", "--quiet", *args)
    assert result.returncode == code
    assert reason in result.stderr
    assert "Traceback" not in result.stderr + result.stdout
    assert not (tmp_path / "data" / "exports").exists()


@pytest.mark.parametrize(
    "content, stage, reason",
    [
        ('window.YTD.tweets.part0 = [{"tweet": {"id_str": "1", "full_text": "hi"', 1, ""),
        ("\xff\xfe\x00garbage".encode("latin-1"), 1, ""),
        (b'{"id": "1", "text": "only one", "created_at": "2025-01-01T10:00:00Z", '
         b'"likes": 1, "reposts": 0, "replies": 0}\n', 2, "not enough usable posts"),
        (b'{"id": "1", "text": "a", "created_at": "2025-01-01T10:00:00Z", "likes": -5, "reposts": 0, "replies": 0}\n'
         b'{"id": "2", "text": "b", "created_at": "2025-01-02T10:00:00Z", "likes": -1, "reposts": 0, "replies": 0}\n',
         2, "negative_count"),
    ],
    ids=["truncated-archive", "wrong-encoding", "one-post", "negative-counts"],
)
def test_bad_exports_fail_their_stage_with_one_line(tmp_path: Path, content, stage: int, reason: str) -> None:
    source = tmp_path / ("tweets.js" if isinstance(content, str) else "posts.jsonl")
    source.write_bytes(content.encode() if isinstance(content, str) else content)
    before = _digest(source)
    result = run_direct(tmp_path / "data", "--quiet", "--username", "someone", "--source", str(source))
    assert result.returncode == 1
    assert result.stderr.startswith(f"main.py: Stage {stage} failed for someone: ")
    assert reason in result.stderr and result.stderr.count("\n") == 1
    assert _digest(source) == before
    failed = [e for e in module1_events(tmp_path / "data") if e["status"] == "failed"]
    assert [e["stage_number"] for e in failed] == [stage]


def test_watchdog_processes_files_oldest_first_and_sorts_good_from_bad(tmp_path: Path) -> None:
    data = tmp_path / "data"
    inbox = data / "AccountInfo"
    inbox.mkdir(parents=True)
    source = write_source(tmp_path / "export.jsonl", posts=60)
    (inbox / "b_bad_json.json").write_text('{"platform": "twitter", "username": ')
    os.utime(inbox / "b_bad_json.json", (time.time() - 20, time.time() - 20))
    (inbox / "a_good.json").write_text(json.dumps({"platform": "twitter", "username": "first_one",
                                                    "source": str(source)}))
    os.utime(inbox / "a_good.json", (time.time() - 30, time.time() - 30))
    (inbox / "c_hostile.json").write_text(json.dumps({"platform": "twitter", "username": "../../../tmp/x"}))
    os.utime(inbox / "c_hostile.json", (time.time() - 10, time.time() - 10))
    # Poison files that once stopped or blocked the loop: a name at the file system's 255-byte
    # limit (filing it away adds a time stamp), JSON nested deeper than Python's recursion
    # limit, and a FIFO that nobody writes to (opening it blocks).
    poison = {"d_" + "n" * 248 + ".json": "[]", "e_nested.json": "[" * 60_000}
    for name, content in poison.items():
        (inbox / name).write_text(content)
        os.utime(inbox / name, (time.time() - 5, time.time() - 5))
    os.mkfifo(inbox / "f_fifo.json")
    os.utime(inbox / "f_fifo.json", (time.time() - 5, time.time() - 5))
    proc = start_watchdog(data, "--once")
    assert proc.wait(timeout=180) == 0
    assert [p.name.split(".")[0] for p in sorted((inbox / "processed").glob("*.json"))] == ["a_good"]
    failed = sorted((inbox / "failed").glob("*.reason.txt"))
    assert [p.name.split(".")[0][:2] for p in failed] == ["b_", "c_", "d_", "e_", "f_"]
    assert "not valid JSON" in failed[0].read_text() and "username" in failed[1].read_text()
    assert "JSON object" in failed[2].read_text() and all(len(p.name.encode()) <= 255 for p in failed)
    assert "nested too deeply" in failed[3].read_text() and "not a regular file" in failed[4].read_text()
    assert list(inbox.glob("*.json")) == [] and list((inbox / "processing").iterdir()) == []
    bad_copy = next((inbox / "failed").glob("b_bad_json*.json"))
    assert bad_copy.read_text() == '{"platform": "twitter", "username": ', "the bad input is kept as it was"
    events = module1_events(data)
    order = [e["username"] or e["message"][:20] for e in events if e["stage_number"] == 1 and e["status"] == "running"]
    assert order == ["first_one"]
    rejected = [e["message"] for e in events if e["status"] == "failed"]
    assert rejected[0].startswith("Rejected account file b_bad_json.json") and len(rejected) == 5
    printed = (tmp_path / "module1.log").read_text(encoding="utf-8").splitlines()  # its stdout
    assert "[INFO] ⚙️  Stage 0 - Initialization: Starting watchdog mode" in printed
    plan = json.loads((data / "exports" / "twitter" / "first_one" / "content_plan.json").read_text())
    count = len(plan["recommendations"])
    assert count >= 1 and (
        f"[INFO] ✅ Stage 7 Complete - Complete for first_one - Pipeline completed - {count} recommendations generated"
        in printed
    )


def test_watchdog_picks_up_a_dropped_file_within_two_seconds_and_stops_on_sigterm(tmp_path: Path) -> None:
    data = tmp_path / "data"
    proc = start_watchdog(data, "--wait-seconds", "1", poll=None)  # the default poll, as the miner runs it
    try:
        wait_for(lambda: any("No accounts found - waiting 1 seconds" in e["message"] for e in module1_events(data)),
                 what="the waiting line")
        wait_for(lambda: sum("Wait cycle completed" in e["message"] for e in module1_events(data)) >= 1,
                 timeout=10, what="a completed wait cycle")
        source = write_source(tmp_path / "export.jsonl", posts=40)
        dropped = tmp_path / "drop.tmp"
        dropped.write_text(json.dumps({"platform": "twitter", "username": "dropped", "source": str(source)}))
        dropped_at = time.time()
        os.rename(dropped, data / "AccountInfo" / "dropped.json")  # atomic, as the miner writes them
        first = wait_for(lambda: next((e for e in module1_events(data) if e["username"] == "dropped"), None),
                         timeout=10, what="stage 1 for the dropped account")
        assert first["stage_number"] == 1 and first["timestamp"] - dropped_at <= 2.0
        wait_for(lambda: any(e["stage_number"] == 7 for e in module1_events(data)), timeout=120, what="the plan")
    finally:
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(timeout=10) == 0


def test_watchdog_interrupted_mid_account_reports_it_and_requeues_the_file(tmp_path: Path) -> None:
    data = tmp_path / "data"
    source = write_source(tmp_path / "export.jsonl", posts=300)
    inbox = data / "AccountInfo"
    inbox.mkdir(parents=True)
    (inbox / "slow.json").write_text(json.dumps({"platform": "twitter", "username": "slow", "source": str(source)}))
    os.utime(inbox / "slow.json", (time.time() - 5, time.time() - 5))
    proc = start_watchdog(data)
    wait_for(lambda: any(e["stage_number"] == 3 and e["status"] == "running" for e in module1_events(data)),
             what="stage 3 to start")
    proc.send_signal(signal.SIGTERM)
    assert proc.wait(timeout=10) == 0
    last = [e for e in module1_events(data) if e["username"] == "slow"][-1]
    assert last["status"] == "failed" and "Interrupted" in last["message"]
    assert (inbox / "slow.json").is_file(), "the account is processed again at the next start"
    assert not list((inbox / "processing").iterdir())


def test_a_file_left_by_a_crash_is_processed_again_after_restart(tmp_path: Path) -> None:
    data = tmp_path / "data"
    source = write_source(tmp_path / "export.jsonl", posts=40)
    processing = data / "AccountInfo" / "processing"
    processing.mkdir(parents=True)
    (processing / "crashed.json").write_text(json.dumps({"platform": "twitter", "username": "crashed",
                                                         "source": str(source)}))
    proc = start_watchdog(data, "--once")
    assert proc.wait(timeout=180) == 0
    assert [p.name for p in (data / "AccountInfo" / "processed").iterdir()][0].startswith("crashed.requeued")


def test_watchdog_scrapes_live_from_the_x_api(tmp_path: Path, x_api: FakeXApi) -> None:
    posts = [api_post(str(1000 + i), f"Post number {i} about espresso grinders and brew ratios, take {i}",
                      f"2026-10-{1 + i % 28:02d}T{8 + i % 12:02d}:15:00.000Z", likes=10 + i, reposts=i % 5)
             for i in range(40)]
    x_api.add_account("LiveOne", "42", posts)
    data = tmp_path / "data"
    inbox = data / "AccountInfo"
    inbox.mkdir(parents=True)
    for name in ("liveone", "nosuchuser"):
        (inbox / f"{name}.json").write_text(json.dumps({"platform": "twitter", "username": name}))
        os.utime(inbox / f"{name}.json", (time.time() - 5, time.time() - 5))
    env = module1_env(X_BEARER_TOKEN=TOKEN, X_API_BASE_URL=x_api.base_url)
    proc = start_watchdog(data, "--once", env=env)
    assert proc.wait(timeout=180) == 0
    assert (data / "exports" / "twitter" / "liveone" / "content_plan.json").is_file()
    failed = [e for e in module1_events(data) if e["status"] == "failed"]
    assert [(e["stage_number"], e["username"], e["message"]) for e in failed] == [
        (1, "nosuchuser", "Failed to scrape profile: user not found")]
    assert all(r.authorization == f"Bearer {TOKEN}" for r in x_api.requests)


def test_a_second_module1_on_the_same_data_dir_is_refused(tmp_path: Path) -> None:
    data = tmp_path / "data"
    proc = start_watchdog(data)
    try:
        wait_for(lambda: any(e["message"] == "Watchdog mode initialized successfully" for e in module1_events(data)),
                 what="the first Module 1")
        before = module1_events(data)
        result = run_direct(data, "--username", "other")
        assert result.returncode == 3 and "another Module 1 is running" in result.stderr
        # The refused run reported nothing: no Stage 0 of its own over the running one's.
        assert module1_events(data) == before
    finally:
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(timeout=10) == 0
