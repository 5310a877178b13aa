"""ContentPlan requests, answered from the job records (`pipeline.jobs`) and Module 2, never from guesses.

For one account key:
- a job queued or running: `queued` (with its place in Module 1's fair order) or `in_progress` (with
  its stage); asking again never queues it twice;
- its last job failed less than the cool-down ago: `failed`, with the reason and when a retry is
  allowed (polling does not start a new scrape every time); or `done` with the plan of an earlier run
  when there is one, the failure and the retry time in the message;
- a plan done (unless `force_fresh`): `done`, with the plan Module 2 serves once it serves that job's
  plan (the fingerprints match);
- otherwise a new job, unless the submitter's or the queue's limit says no (`rejected`, with why).
The request never carries a file path: accounts from the network are always scraped.
"""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass, replace
from typing import Any

from content_miner.common.account import AccountKey
from content_miner.common.layout import DataLayout
from content_miner.neuron.module2_client import Module2Client, Module2Unavailable
from content_miner.neuron.stage_view import StageView
from content_miner.pipeline.account import AccountFileError, parse_account
from content_miner.pipeline.inbox import AccountInbox
from content_miner.pipeline.jobs import DONE, FAILED, QUEUED, RUNNING, Job, JobLimits, JobStore, job_file_name
from content_miner.tracker.stages import stage_name

MODULE1_SOURCE = "module1"
QUEUED_STATE, IN_PROGRESS, DONE_STATE, FAILED_STATE, REJECTED = "queued", "in_progress", "done", "failed", "rejected"
MODULE2_CATCH_UP_S = 60.0  # after a job is done, how long Module 2 may still serve the previous plan


@dataclass(frozen=True)
class JobPolicy:
    limits: JobLimits = JobLimits()
    retry_cooldown_s: float = 600.0  # a failed account is not scraped again within this time


@dataclass
class PlanAnswer:
    state: str
    message: str
    stage: dict[str, Any] | None = None
    plan: dict[str, Any] | None = None
    images: list[dict[str, Any]] | None = None
    retry_after: float | None = None  # epoch seconds: a failed account may be submitted again then
    queue_position: int | None = None


class JobSubmitError(Exception):
    """The account could not be queued (the data directory refused its file); str() says why."""


class AccountJobs:
    def __init__(self, paths: DataLayout, store: JobStore, stages: StageView, module2: Module2Client,
                 policy: JobPolicy | None = None) -> None:
        self.store = store
        self.inbox = AccountInbox(paths)
        self.stages = stages
        self.module2 = module2
        self.policy = policy or JobPolicy()

    async def submit(self, platform: str, username: str, *, submitter: str, stake: float = 0.0,
                     force_fresh: bool = False, max_posts: int | None = None) -> PlanAnswer:
        try:
            # Only these fields are taken from the network: `source` stays None whatever was sent.
            request = parse_account({"platform": platform, "username": username, "force_fresh": force_fresh,
                                     "max_posts": max_posts})
        except AccountFileError as err:
            return PlanAnswer(REJECTED, str(err))
        key = request.key
        latest = await asyncio.to_thread(self.store.latest, key)
        if latest is not None and latest.outstanding:
            return await self._follow(latest)
        if latest is not None and latest.state == FAILED:
            retry_at = (latest.finished_at or latest.updated_at) + self.policy.retry_cooldown_s
            if time.time() < retry_at:
                failure = (f"{latest.failure_reason or 'failed'}; a retry is allowed from "
                           f"{time.strftime('%Y-%m-%d %H:%M:%S UTC', time.gmtime(retry_at))}")
                # A refresh that failed does not hide the plan an earlier run made: it is still served.
                try:
                    earlier = await self._done(key, None)
                except Module2Unavailable:
                    earlier = None
                if earlier is not None and earlier.state == DONE_STATE:
                    return replace(earlier, message=f"{earlier.message} (from an earlier run; the last refresh "
                                                    f"failed: {failure})", retry_after=retry_at)
                return PlanAnswer(FAILED_STATE, failure, retry_after=retry_at)
        if not request.force_fresh:
            done = await self._done(key, latest)
            if done is not None:
                return done
        submission = await asyncio.to_thread(self._queue, key, submitter, stake, request.force_fresh,
                                             request.max_posts)
        return submission

    def _queue(self, key: AccountKey, submitter: str, stake: float, force_fresh: bool,
               max_posts: int | None) -> PlanAnswer:
        submission = self.store.submit(key, submitter=submitter, stake=stake, force_fresh=force_fresh,
                                       max_posts=max_posts, limits=self.policy.limits)
        if submission.job is None:
            return PlanAnswer(REJECTED, submission.refused)
        job = submission.job
        if submission.created:
            try:
                self.inbox.drop(job_file_name(job.id), {"platform": key.platform, "username": key.username,
                                                        "force_fresh": force_fresh, "max_posts": max_posts})
            except OSError as err:
                reason = f"cannot write the account file: {err.strerror or err}"
                self.store.fail(job.id, reason)
                raise JobSubmitError(reason) from None
        position = self.store.queue_position(job)
        return PlanAnswer(QUEUED_STATE, f"queued for Module 1 (position {position})", queue_position=position)

    async def _follow(self, job: Job) -> PlanAnswer:
        if job.state == QUEUED:
            position = await asyncio.to_thread(self.store.queue_position, job)
            return PlanAnswer(QUEUED_STATE, f"waiting in Module 1's queue (position {position})",
                              queue_position=position)
        stage = await asyncio.to_thread(self.stages.running_stage, MODULE1_SOURCE, job.username)
        if stage is None and job.stage is not None:
            stage = {"source": MODULE1_SOURCE, "username": job.username, "stage_number": job.stage,
                     "stage_name": job.stage_name or stage_name(job.stage), "status": RUNNING}
        return PlanAnswer(IN_PROGRESS, "being processed" if stage else "picked up by Module 1", stage)

    async def _done(self, key: AccountKey, latest: Job | None) -> PlanAnswer | None:
        """The plan, once Module 2 serves the one the last done job made; None if there is no plan."""
        job = latest if latest is not None and latest.state == DONE else None
        if job is None:
            job = await asyncio.to_thread(self.store.latest_done, key)
        account = await self.module2.account(key.platform, key.username)
        served = account.get("plan_sha256") if account else None
        if job is not None and served != job.plan_fingerprint:
            if time.time() - (job.finished_at or 0.0) < MODULE2_CATCH_UP_S:
                return PlanAnswer(IN_PROGRESS, "plan exported; waiting for Module 2 to load it")
        if account is None or not account.get("plan_url"):
            return None
        plan = await self.module2.plan(key.platform, key.username)
        if plan is None:
            return None
        images = [{"id": image["id"], "rank": image["rank"], "ready": image["ready"]}
                  for image in account.get("images") or []]
        return PlanAnswer(DONE_STATE, f"{account.get('recommendations', 0)} recommendations", plan=plan,
                          images=images)
