"""A disk that fills up during an account: that account fails with its reason kept, and the next one
works once there is room again (the vector index is opened afresh after a failed write)."""

from __future__ import annotations

from pathlib import Path

from content_miner.common.account import AccountKey
from content_miner.common.layout import DataLayout
from content_miner.pipeline.inbox import AccountInbox
from content_miner.pipeline.jobs import DONE, FAILED, JobStore, job_file_name
from support.disk import fill, small_disk
from support.module1 import module1_events, start_watchdog, wait_for, write_source


def submit(paths: DataLayout, username: str, source: Path) -> str:
    job = JobStore(paths.jobs).submit(AccountKey("twitter", username), submitter="validator").job
    assert job is not None
    AccountInbox(paths).drop(job_file_name(job.id), {"platform": "twitter", "username": username,
                                                    "source": str(source)})
    return job.id


def test_a_full_disk_during_stage_3_fails_that_account_only(tmp_path: Path) -> None:
    first_source = write_source(tmp_path / "first.jsonl", posts=400)
    second_source = write_source(tmp_path / "second.jsonl", posts=60, seed=5)
    with small_disk(tmp_path / "disk", size_mb=80) as disk:
        paths = DataLayout(disk / "data")
        module1 = start_watchdog(paths.root, "--quiet", log=tmp_path / "module1.log")
        try:
            wait_for(lambda: any(e["message"] == "Watchdog mode initialized successfully"
                                 for e in module1_events(paths.root)), timeout=120, what="Module 1 to start")
            first = submit(paths, "first_one", first_source)
            wait_for(lambda: any(e["username"] == "first_one" and e["stage_number"] == 3 and e["status"] == "running"
                                 for e in module1_events(paths.root)), timeout=120, what="Stage 3 of the first account")
            filler = fill(disk)
            wait_for(lambda: list(paths.inbox_failed.glob(f"{job_file_name(first).removesuffix('.json')}*.json")),
                     timeout=120, what="the first account to fail")
            filler.unlink()
            second = submit(paths, "second_one", second_source)
            store = JobStore(paths.jobs)
            wait_for(lambda: store.get(second).state == DONE, timeout=120, what="the second account's plan")
            failed = wait_for(lambda: (job := store.get(first)).state == FAILED and job, timeout=30,
                              what="the first account's failure in its job record")
            assert failed.failure_reason is not None and failed.failure_reason.startswith("Stage ")
            assert "space" in failed.failure_reason or "full" in failed.failure_reason, failed.failure_reason
            assert (paths.account_exports(AccountKey("twitter", "second_one")) / "content_plan.json").is_file()
            assert module1.poll() is None, "Module 1 kept running"
        finally:
            module1.terminate()
            module1.wait(timeout=30)
    log = (tmp_path / "module1.log").read_text()
    assert "Traceback" not in log
