"""The job records: states, fair order across submitters, coalescing, pruning, and recovery."""

from __future__ import annotations

import json
import os
import sqlite3
import time
from pathlib import Path

import pytest

from content_miner.common.account import AccountKey
from content_miner.common.layout import DataLayout
from content_miner.pipeline.inbox import AccountInbox
from content_miner.pipeline.inbox_jobs import InboxJobs
from content_miner.pipeline.jobs import DONE, FAILED, QUEUED, RUNNING, JobStore, job_file_name, job_id_of
from support.waiting import wait_for


class Clock:
    def __init__(self) -> None:
        self.now = 1_000_000.0

    def __call__(self) -> float:
        self.now += 1.0
        return self.now


def key(name: str) -> AccountKey:
    return AccountKey("twitter", name)


def test_a_job_goes_through_its_states(tmp_path: Path) -> None:
    store = JobStore(tmp_path / "jobs.sqlite3")
    job = store.submit(key("nasa"), submitter="v1").job
    assert job is not None and job.state == QUEUED and job.inbox_file == job_file_name(job.id)
    store.start(job.id)
    store.set_stage(job.id, 3, "Vector Database")
    running = store.get(job.id)
    assert (running.state, running.stage, running.stage_name, running.attempts) == (RUNNING, 3, "Vector Database", 1)
    store.finish(job.id, plan_fingerprint="abc", recommendations=15)
    done = store.get(job.id)
    assert (done.state, done.plan_fingerprint, done.recommendations) == (DONE, "abc", 15)
    assert done.finished_at is not None
    second = store.submit(key("nasa"), submitter="v1").job
    store.start(second.id)
    store.fail(second.id, "Stage 1 failed:\n  Failed to scrape profile " + "x" * 1000)
    failed = store.get(second.id)
    assert failed.state == FAILED and failed.failure_reason.startswith("Stage 1 failed: Failed to scrape profile x")
    assert "\n" not in failed.failure_reason and len(failed.failure_reason) == 500
    assert store.latest(key("nasa")).id == second.id and store.latest_done(key("nasa")).id == job.id


def test_submissions_of_one_account_coalesce_across_store_objects(tmp_path: Path) -> None:
    first = JobStore(tmp_path / "jobs.sqlite3").submit(key("nasa"), submitter="v1")
    again = JobStore(tmp_path / "jobs.sqlite3").submit(key("nasa"), submitter="v2")
    assert first.created and not again.created and again.job.id == first.job.id


def test_fair_order_is_round_robin_by_submitter_with_stake_breaking_ties(tmp_path: Path) -> None:
    store = JobStore(tmp_path / "jobs.sqlite3", clock=Clock())
    for index in range(5):  # a validator that submits a long list first
        store.submit(key(f"flood{index}"), submitter="flooder", stake=10.0)
    store.submit(key("rich"), submitter="rich", stake=500.0)
    store.submit(key("poor"), submitter="poor", stake=1.0)
    served: list[str] = []
    for _ in range(7):
        nxt = store.fair_order(store.in_state(QUEUED))[0]
        served.append(nxt.username)
        store.start(nxt.id)
        store.finish(nxt.id, plan_fingerprint="x", recommendations=1)
    assert served == ["rich", "flood0", "poor", "flood1", "flood2", "flood3", "flood4"]


def test_queue_position_follows_the_fair_order(tmp_path: Path) -> None:
    store = JobStore(tmp_path / "jobs.sqlite3", clock=Clock())
    a = store.submit(key("a1"), submitter="a").job
    store.submit(key("a2"), submitter="a")
    b = store.submit(key("b1"), submitter="b").job
    store.start(a.id)  # a was just served: b comes next
    assert store.queue_position(b) == 1
    assert store.summary().queued == 2 and store.summary().running == 1
    assert store.summary().by_submitter == {"a": 2, "b": 1}


def test_prune_keeps_outstanding_jobs_and_the_newest_finished_ones(tmp_path: Path) -> None:
    clock = Clock()
    store = JobStore(tmp_path / "jobs.sqlite3", clock=clock)
    ids = []
    for index in range(6):
        job = store.submit(key(f"u{index}"), submitter="v").job
        ids.append(job.id)
        if index < 5:
            store.start(job.id)
            store.finish(job.id, plan_fingerprint="f", recommendations=1)
    assert store.prune(keep_days=30, keep_finished=2) == 3
    left = {job.username for job in store.in_state(DONE, QUEUED)}
    assert left == {"u3", "u4", "u5"}
    clock.now += 31 * 86400
    assert store.prune(keep_days=30, keep_finished=100) == 2
    assert [job.username for job in store.in_state(DONE, QUEUED, FAILED)] == ["u5"]


def test_job_file_names_survive_module1_renames() -> None:
    job_id = "0123456789abcdef0123456789abcdef"
    for name in (f"job-{job_id}.json", f"job-{job_id}.20260101T000000Z.json", f"job-{job_id}.requeued.json"):
        assert job_id_of(name) == job_id
    assert job_id_of("my-account.json") is None and job_id_of("job-123.json") is None


def test_inbox_pruning_keeps_recent_files_by_age_and_count(tmp_path: Path) -> None:
    paths = DataLayout(tmp_path)
    inbox = AccountInbox(paths)
    inbox.ensure()
    now = time.time()
    for index in range(5):
        for folder in (paths.inbox_processed, paths.inbox_failed):
            path = folder / f"a{index}.json"
            path.write_text("{}")
            os.utime(path, (now - index * 3600, now - index * 3600))
        (paths.inbox_failed / f"a{index}.json.reason.txt").write_text("why")
    old = paths.inbox_processed / "ancient.json"
    old.write_text("{}")
    os.utime(old, (now - 30 * 86400, now - 30 * 86400))
    removed = inbox.prune(keep_days=7, keep_files=3)
    assert removed == 1 + 2 + 2
    assert sorted(p.name for p in paths.inbox_processed.iterdir()) == ["a0.json", "a1.json", "a2.json"]
    assert sorted(p.name for p in paths.inbox_failed.iterdir()) == [
        "a0.json", "a0.json.reason.txt", "a1.json", "a1.json.reason.txt", "a2.json", "a2.json.reason.txt"]


def test_hand_dropped_files_become_operator_jobs_and_bad_ones_are_refused(tmp_path: Path) -> None:
    paths = DataLayout(tmp_path)
    inbox = AccountInbox(paths)
    inbox.ensure()
    store = JobStore(paths.jobs)
    good = inbox.root / "mine.json"
    good.write_text(json.dumps({"platform": "twitter", "username": "_abc"}))
    bad = inbox.root / "broken.json"
    bad.write_text("{ not json")
    refused: list[tuple[str, str]] = []
    jobs = InboxJobs(inbox, store)
    chosen = jobs.next_waiting([bad, good], lambda path, why: refused.append((path.name, why)))
    assert chosen is not None and chosen.path == good and chosen.job.submitter == "operator"
    assert chosen.job.key == AccountKey("twitter", "_abc")
    assert refused and refused[0][0] == "broken.json" and "not valid JSON" in refused[0][1]
    again = jobs.next_waiting([good], lambda path, why: None)
    assert again is not None and again.job.id == chosen.job.id, "one file, one job"


def test_start_up_recovery_requeues_interrupted_jobs_and_fails_lost_ones(tmp_path: Path) -> None:
    paths = DataLayout(tmp_path)
    inbox = AccountInbox(paths)
    inbox.ensure()
    clock = Clock()
    store = JobStore(paths.jobs, clock=clock)
    interrupted = store.submit(key("interrupted"), submitter="v").job
    (paths.inbox_processing / interrupted.inbox_file).write_text(json.dumps({"platform": "twitter",
                                                                            "username": "interrupted"}))
    store.start(interrupted.id)
    lost = store.submit(key("lost"), submitter="v").job
    store.start(lost.id)  # running, and its file is nowhere
    missing = store.submit(key("missing"), submitter="v").job  # queued, its file never written
    clock.now += 120
    notes = InboxJobs(inbox, store, clock=clock).recover()
    assert notes == [f"{interrupted.inbox_file}: put back in the inbox (interrupted)"]
    back = store.get(interrupted.id)
    assert back.state == QUEUED and back.inbox_file.endswith(".requeued.json")
    assert (paths.inbox / back.inbox_file).is_file()
    assert store.get(lost.id).state == FAILED and "file is gone" in store.get(lost.id).failure_reason
    assert store.get(missing.id).state == FAILED


def test_job_record_writes_a_full_disk_refuses_are_kept_and_written_in_order_later(
        tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    paths = DataLayout(tmp_path)
    jobs = InboxJobs(AccountInbox(paths), JobStore(paths.jobs))

    written: list[str] = []
    full = True

    def write(name: str) -> None:
        if full:
            raise sqlite3.OperationalError("database or disk is full")
        written.append(name)

    with caplog.at_level("WARNING", logger="content_miner.pipeline.inbox_jobs"):
        jobs.record("job x failed", write, "failed")
        jobs.record("job y started", write, "started")  # held back too: the order is kept
        assert jobs.retry_pending() == 2 and written == []
        full = False
        assert jobs.retry_pending() == 0
    assert written == ["failed", "started"]
    assert caplog.text.count("Could not record job x failed in the job records (database or disk is full)") == 1
    assert "accepted the updates they had refused" in caplog.text


def test_a_file_dated_in_the_future_is_taken_once_settled_with_one_warning(
        tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    inbox = AccountInbox(DataLayout(tmp_path))
    inbox.ensure()
    ahead = inbox.root / "ahead.json"
    ahead.write_text(json.dumps({"platform": "twitter", "username": "ahead"}))
    tomorrow = time.time() + 86400
    os.utime(ahead, (tomorrow, tomorrow))  # `cp -p` from a host whose clock is a day ahead
    with caplog.at_level("WARNING", logger="content_miner.pipeline.inbox"):
        assert inbox.waiting() == [], "first seen: it may still be being written"
        assert wait_for(lambda: inbox.waiting() == [ahead], timeout=10, what="the file to settle")
        inbox.waiting()
    warnings = [r.getMessage() for r in caplog.records if "ahead.json" in r.getMessage()]
    assert len(warnings) == 1 and "dated" in warnings[0] and "in the future" in warnings[0]
