"""ContentPlan answers come from the job records: an account is queued once, followed across miner
restarts, refused past the limits, and not scraped again within the cool-down after a failure.

`AccountJobs` is the axon's own object, on a real job database, real inbox files and a real status
file. Submissions are `force_fresh` (or the account has no plan), so Module 2 is asked only whether a
plan exists, and it is not running: a closed port.
"""

from __future__ import annotations

import asyncio
import json
import os
import socket
import time
from pathlib import Path

from content_miner.common.account import AccountKey
from content_miner.common.layout import DataLayout
from content_miner.neuron.account_jobs import AccountJobs, JobPolicy
from content_miner.neuron.module2_client import Module2Client
from content_miner.neuron.stage_view import StageView
from content_miner.pipeline.inbox import AccountInbox
from content_miner.pipeline.inbox_jobs import InboxJobs
from content_miner.pipeline.jobs import JobLimits, JobStore
from content_miner.tracker import MinerStageTracker


def closed_port() -> int:
    with socket.socket() as sock:  # bound and never listening: connections are refused
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def restarted_miner_jobs(data_dir: Path, policy: JobPolicy | None = None) -> AccountJobs:
    """The axon's account jobs as a freshly started miner has them: nothing in memory."""
    paths = DataLayout(data_dir)
    tracker = MinerStageTracker(paths.status_file, source="miner")
    return AccountJobs(paths, JobStore(paths.jobs), StageView(tracker),
                       Module2Client(f"http://127.0.0.1:{closed_port()}", timeout_s=1.0), policy)


def account_files(data_dir: Path) -> list[Path]:
    return sorted(path for path in (data_dir / "AccountInfo").rglob("*.json"))


def submit(jobs: AccountJobs, username: str, submitter: str = "validator-a", stake: float = 0.0) -> tuple[str, str]:
    answer = asyncio.run(jobs.submit("twitter", username, submitter=submitter, stake=stake, force_fresh=True))
    return answer.state, answer.message


def test_a_restarted_miner_follows_the_job_instead_of_queuing_it_again(tmp_path: Path) -> None:
    assert submit(restarted_miner_jobs(tmp_path), "Creator_One") == ("queued", "queued for Module 1 (position 1)")
    [queued] = account_files(tmp_path)
    assert json.loads(queued.read_text())["username"] == "creator_one"

    after_restart = restarted_miner_jobs(tmp_path)
    assert submit(after_restart, "@creator_one") == ("queued", "waiting in Module 1's queue (position 1)")
    assert account_files(tmp_path) == [queued]

    # Module 1 claims it (a rename into processing/ and the job started, as its inbox does).
    store = JobStore(DataLayout(tmp_path).jobs)
    processing = tmp_path / "AccountInfo" / "processing"
    processing.mkdir()
    os.rename(queued, processing / queued.name)
    store.start(store.latest(AccountKey("twitter", "creator_one")).id)
    state, _ = submit(restarted_miner_jobs(tmp_path), " CREATOR_ONE ")
    assert state == "in_progress"
    assert account_files(tmp_path) == [processing / queued.name]


def test_a_file_dropped_by_hand_is_followed_once_module1_has_seen_it(tmp_path: Path) -> None:
    paths = DataLayout(tmp_path)
    inbox = AccountInbox(paths)
    inbox.ensure()
    by_hand = inbox.root / "my-account.json"
    by_hand.write_text(json.dumps({"platform": "x", "username": "@Someone_Else"}))
    rejected: list[str] = []
    InboxJobs(inbox, JobStore(paths.jobs)).next_waiting([by_hand], lambda path, why: rejected.append(why))
    assert rejected == []
    assert submit(restarted_miner_jobs(tmp_path), "someone_else") == (
        "queued", "waiting in Module 1's queue (position 1)"
    )
    assert submit(restarted_miner_jobs(tmp_path), "someone") == ("queued", "queued for Module 1 (position 2)")
    assert len(account_files(tmp_path)) == 2


def test_two_requests_at_once_queue_one_job(tmp_path: Path) -> None:
    jobs = restarted_miner_jobs(tmp_path)

    async def both() -> list[str]:
        answers = await asyncio.gather(*(jobs.submit("twitter", "creator_one", submitter="v", force_fresh=True)
                                         for _ in range(2)))
        return [answer.state for answer in answers]

    assert asyncio.run(both()) == ["queued", "queued"]
    assert len(account_files(tmp_path)) == 1
    assert len(jobs.store.in_state("queued")) == 1


def test_limits_per_validator_and_in_all_are_answered_rejected_with_the_reason(tmp_path: Path) -> None:
    jobs = restarted_miner_jobs(tmp_path, JobPolicy(JobLimits(max_per_submitter=2, max_queued=3)))
    assert submit(jobs, "one", "greedy")[0] == "queued"
    assert submit(jobs, "two", "greedy")[0] == "queued"
    state, message = submit(jobs, "three", "greedy")
    assert state == "rejected" and message == "greedy already has 2 accounts queued or in progress (at most 2)"
    assert submit(jobs, "four", "modest")[0] == "queued"
    state, message = submit(jobs, "five", "modest")
    assert state == "rejected" and "the queue is full (3 accounts waiting, at most 3)" in message
    assert len(account_files(tmp_path)) == 3


def test_a_failed_account_is_not_queued_again_within_the_cool_down(tmp_path: Path) -> None:
    jobs = restarted_miner_jobs(tmp_path, JobPolicy(retry_cooldown_s=3600))
    submit(jobs, "flaky")
    job = jobs.store.latest(AccountKey("twitter", "flaky"))
    jobs.store.start(job.id)
    jobs.store.fail(job.id, "Stage 1 failed: Failed to scrape profile")
    for _ in range(3):  # polling does not start a new scrape
        answer = asyncio.run(jobs.submit("twitter", "flaky", submitter="validator-a", force_fresh=True))
        assert answer.state == "failed"
        assert answer.message.startswith("Stage 1 failed: Failed to scrape profile; a retry")
        assert answer.retry_after is not None and answer.retry_after > time.time() + 3500
    assert len(jobs.store.in_state("queued")) == 0

    no_wait = restarted_miner_jobs(tmp_path, JobPolicy(retry_cooldown_s=0))
    assert submit(no_wait, "flaky")[0] == "queued"


def test_a_synapse_request_never_names_a_source_file(tmp_path: Path) -> None:
    jobs = restarted_miner_jobs(tmp_path)
    answer = asyncio.run(jobs.submit("twitter", "nasa", submitter="v", force_fresh=True, max_posts=50))
    assert answer.state == "queued"
    [queued] = account_files(tmp_path)
    assert json.loads(queued.read_text()) == {"platform": "twitter", "username": "nasa", "force_fresh": True,
                                             "max_posts": 50}
    bad = asyncio.run(jobs.submit("twitter", "a/../b", submitter="v"))
    assert bad.state == "rejected" and "invalid username" in bad.message


def test_a_failed_refresh_keeps_serving_the_plan_of_an_earlier_run(tmp_path: Path) -> None:
    """One validator's `force_fresh` that fails must not hide a finished plan from everyone for the
    cool-down: the answer is `done` with that plan, and says the refresh failed and when to retry."""
    from support.module2 import Module2, write_plan
    from support.plans import make_plan

    data = tmp_path / "data"
    plan = make_plan("creator", count=2)
    write_plan(data, plan)
    module2 = Module2(data, tmp_path / "module2.log", tmp_path / "home").start()
    try:
        served = module2.wait_ready("twitter", "creator")
        paths = DataLayout(data)
        jobs = AccountJobs(paths, JobStore(paths.jobs),
                           StageView(MinerStageTracker(paths.status_file, source="miner")),
                           Module2Client(f"http://127.0.0.1:{module2.port}", timeout_s=5.0),
                           JobPolicy(retry_cooldown_s=3600))
        key = AccountKey("twitter", "creator")
        first = jobs.store.submit(key, submitter="validator-a", limits=JobLimits()).job
        jobs.store.start(first.id)
        jobs.store.finish(first.id, plan_fingerprint=served["plan_sha256"], recommendations=2)
        assert submit(jobs, "creator")[0] == "queued"  # force_fresh: a new run
        refresh = jobs.store.latest(key)
        jobs.store.start(refresh.id)
        jobs.store.fail(refresh.id, "Stage 1 failed: Failed to scrape profile: no X API bearer token")
        for force_fresh in (False, True):
            answer = asyncio.run(jobs.submit("twitter", "creator", submitter="validator-b", force_fresh=force_fresh))
            assert answer.state == "done" and answer.plan is not None and answer.plan["username"] == "creator"
            assert "the last refresh failed: Stage 1 failed" in answer.message, answer.message
            assert "a retry is allowed" in answer.message
            assert answer.retry_after is not None and answer.retry_after > time.time() + 3500
        assert len(jobs.store.in_state("queued")) == 0
    finally:
        module2.stop()
