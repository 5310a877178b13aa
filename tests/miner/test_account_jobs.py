"""Accounts submitted through the axon are queued once: the inbox on disk is the record, so a miner
restarted while a file waits (or is being processed) follows that file instead of queuing another.

`AccountJobs` is the axon's own object, on real files and a real status file. Every submission here
is `force_fresh`, so Module 2 (asked only whether a plan already exists) is never needed.
"""

from __future__ import annotations

import asyncio
import json
import os
from pathlib import Path

from miner_harness import free_port
from miner_neuron.account_jobs import AccountJobs
from miner_neuron.module2_client import Module2Client
from miner_neuron.stage_view import StageView
from miner_stage_tracker import MinerStageTracker


def restarted_miner_jobs(data_dir: Path) -> AccountJobs:
    """The axon's account jobs as a freshly started miner has them: nothing in memory."""
    tracker = MinerStageTracker(data_dir / "miner_status.json", source="miner")
    return AccountJobs(data_dir, StageView(tracker), Module2Client(f"http://127.0.0.1:{free_port()}"))


def account_files(data_dir: Path) -> list[Path]:
    return sorted(path for path in (data_dir / "AccountInfo").rglob("*.json"))


def submit(jobs: AccountJobs, username: str) -> tuple[str, str]:
    answer = asyncio.run(jobs.submit("twitter", username, force_fresh=True))
    return answer.state, answer.message


def test_a_restarted_miner_follows_the_waiting_file_instead_of_queuing_it_again(tmp_path: Path) -> None:
    assert submit(restarted_miner_jobs(tmp_path), "Creator_One") == ("queued", "queued for Module 1")
    [queued] = account_files(tmp_path)

    after_restart = restarted_miner_jobs(tmp_path)
    assert submit(after_restart, "creator_one") == ("queued", "waiting in Module 1's inbox")
    assert account_files(tmp_path) == [queued]

    # Module 1 claims it (a rename into processing/, as its inbox does); the miner restarts again.
    processing = tmp_path / "AccountInfo" / "processing"
    processing.mkdir()
    os.rename(queued, processing / queued.name)
    state, _ = submit(restarted_miner_jobs(tmp_path), "CREATOR_ONE")
    assert state == "in_progress"
    assert account_files(tmp_path) == [processing / queued.name]


def test_a_file_dropped_by_hand_counts_by_what_it_holds(tmp_path: Path) -> None:
    inbox = tmp_path / "AccountInfo"
    inbox.mkdir()
    by_hand = inbox / "my-account.json"
    by_hand.write_text(json.dumps({"platform": "x", "username": "@Someone_Else"}))
    (inbox / "broken.json").write_text("{ not json")  # unreadable files are Module 1's to reject
    assert submit(restarted_miner_jobs(tmp_path), "someone_else") == ("queued", "waiting in Module 1's inbox")
    assert submit(restarted_miner_jobs(tmp_path), "someone") == ("queued", "queued for Module 1")  # another account
    assert len(account_files(tmp_path)) == 3


def test_two_requests_at_once_queue_one_file(tmp_path: Path) -> None:
    jobs = restarted_miner_jobs(tmp_path)

    async def both() -> list[str]:
        answers = await asyncio.gather(*(jobs.submit("twitter", "creator_one", force_fresh=True) for _ in range(2)))
        return [answer.state for answer in answers]

    assert asyncio.run(both()) == ["queued", "queued"]
    assert len(account_files(tmp_path)) == 1
