"""The real Module 1 in watchdog mode moves each job along: fair order across submitters, a done job
with its plan's fingerprint, and a job whose file cannot be used failed with the reason."""

from __future__ import annotations

import hashlib
import json
import os
import time
from pathlib import Path

from content_miner.common.account import AccountKey
from content_miner.common.layout import DataLayout
from content_miner.pipeline.inbox import AccountInbox
from content_miner.pipeline.jobs import DONE, FAILED, JobStore, job_file_name
from support.module1 import run_direct, write_source


def submit(paths: DataLayout, store: JobStore, username: str, submitter: str, source: Path | None = None,
           body: str | None = None) -> str:
    job = store.submit(AccountKey("twitter", username), submitter=submitter).job
    assert job is not None
    inbox = AccountInbox(paths)
    if body is not None:
        inbox.ensure()
        (inbox.root / job_file_name(job.id)).write_text(body)
    else:
        inbox.drop(job_file_name(job.id), {"platform": "twitter", "username": username, "source": str(source)})
    return job.id


def test_module1_takes_jobs_in_fair_order_and_records_how_each_ended(tmp_path: Path) -> None:
    paths = DataLayout(tmp_path / "data")
    store = JobStore(paths.jobs)
    source = write_source(tmp_path / "posts.jsonl", posts=40)
    flood = [submit(paths, store, f"flood_{index}", "flooder", source) for index in range(3)]
    other = submit(paths, store, "other_one", "other", source)
    tomorrow = time.time() + 86400  # dated ahead of the clock (a clock step, `cp -p` from a host ahead)
    os.utime(paths.inbox / job_file_name(other), (tomorrow, tomorrow))
    broken = submit(paths, store, "broken_one", "other", body='{"platform": "twitter", "username": ')

    result = run_direct(paths.root, "--once", "--quiet", "--poll-seconds", "0.2")  # watchdog mode, until empty
    assert result.returncode == 0, result.stderr

    jobs = {job_id: store.get(job_id) for job_id in [*flood, other, broken]}
    started = sorted((job.started_at, job.username) for job in jobs.values() if job.started_at is not None)
    assert [name for _, name in started] == ["flood_0", "other_one", "flood_1", "flood_2"]
    for job_id in [*flood, other]:
        job = jobs[job_id]
        plan = paths.account_exports(job.key) / "content_plan.json"
        assert job.state == DONE and job.attempts == 1
        assert job.recommendations == len(json.loads(plan.read_text())["recommendations"]) > 0
        assert job.plan_fingerprint == hashlib.sha256(plan.read_bytes()).hexdigest()
    failed = jobs[broken]
    assert failed.state == FAILED and "account file is not valid JSON" in failed.failure_reason
    [reason] = paths.inbox_failed.glob(f"{job_file_name(broken).removesuffix('.json')}*.reason.txt")
    assert "not valid JSON" in reason.read_text()
    assert json.loads(next(paths.inbox_processed.glob("job-*.json")).read_text())["platform"] == "twitter"
