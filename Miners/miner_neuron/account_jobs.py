"""Accounts submitted through the axon: queue them for Module 1 and follow them to a content plan.

A submission is answered from what the system shows, never from guesses:
- the account's file is still in Module 1's inbox: `queued`;
- it is being processed (or just picked up): `in_progress`, with the account's current stage;
- Module 1 moved it to `failed/`: `failed` with the reason (the next submission queues it again);
- it was processed and Module 2 serves a plan at least as new as the submission: `done`, with it.
Without a submission under way, an existing plan is answered `done` (unless `force_fresh`), and
otherwise the account is queued. The request never carries a file path: `source` is always None.

A submission under way is known from memory and, failing that, from the inbox on disk: a file for
the account still waiting or being processed (after a miner restart, or dropped by hand) is followed
instead of queuing the account a second time. Looking and queuing happen under one lock, so two
requests at once queue one file.
"""

from __future__ import annotations

import asyncio
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from content_pipeline.account import AccountFileError, AccountRequest, parse_account

from miner_neuron.account_drop import AccountKeys, drop_account_file, failure_reason, find_pending, locate
from miner_neuron.module2_client import Module2Client
from miner_neuron.stage_view import StageView, parse_timestamp

MODULE1_SOURCE = "module1"
QUEUED, IN_PROGRESS, DONE, FAILED, REJECTED = "queued", "in_progress", "done", "failed", "rejected"


@dataclass
class PlanAnswer:
    state: str
    message: str
    stage: dict[str, Any] | None = None
    plan: dict[str, Any] | None = None
    images: list[dict[str, Any]] | None = None


@dataclass(frozen=True)
class Submission:
    stem: str
    submitted_at: float  # wall clock, compared with the plan's generated_at


class AccountJobs:
    def __init__(self, data_dir: Path, stages: StageView, module2: Module2Client) -> None:
        self.data_dir = data_dir
        self.stages = stages
        self.module2 = module2
        self._submissions: dict[tuple[str, str], Submission] = {}
        self._inbox_keys: AccountKeys = {}
        self._lock = threading.Lock()  # taken in worker threads only: it may be held for an inbox scan

    async def submit(self, platform: str, username: str, *, force_fresh: bool = False,
                     max_posts: int | None = None) -> PlanAnswer:
        try:
            # Only these fields are taken from the network: `source` stays None whatever was sent.
            request = parse_account({"platform": platform, "username": username, "force_fresh": force_fresh,
                                     "max_posts": max_posts})
        except AccountFileError as err:
            return PlanAnswer(REJECTED, str(err))
        key = (request.platform, request.username.lower())
        submission = await asyncio.to_thread(self._under_way, key)
        if submission is not None:
            answer = await self._follow(key, submission)
            if answer is not None:
                return answer
        running = await asyncio.to_thread(self.stages.running_stage, MODULE1_SOURCE, key[1])
        if running is not None:
            return PlanAnswer(IN_PROGRESS, "the account is being processed", running)
        if not request.force_fresh:
            done = await self._plan_answer(key, newer_than=None)
            if done is not None:
                return done
        await asyncio.to_thread(self._queue_once, key, request)
        return PlanAnswer(QUEUED, "queued for Module 1")

    def _under_way(self, key: tuple[str, str]) -> Submission | None:
        with self._lock:
            return self._known(key)

    def _known(self, key: tuple[str, str]) -> Submission | None:
        """The submission under way for `key`: remembered, else a file pending in the inbox (adopted)."""
        submission = self._submissions.get(key)
        if submission is None:
            found = find_pending(self.data_dir, key[0], key[1], self._inbox_keys)
            if found is not None:
                submission = self._submissions[key] = Submission(*found)  # its file's time stands for the submission's
        return submission

    def _queue_once(self, key: tuple[str, str], request: AccountRequest) -> None:
        """Drop the account's file unless one is already under way (a request that came in meanwhile)."""
        with self._lock:
            if self._known(key) is not None:
                return
            stem = drop_account_file(self.data_dir, platform=request.platform, username=request.username,
                                     force_fresh=request.force_fresh, max_posts=request.max_posts)
            self._submissions[key] = Submission(stem, time.time())

    async def _follow(self, key: tuple[str, str], submission: Submission) -> PlanAnswer | None:
        """The answer for a submission under way; None once it is over and a new one may start."""
        found = await asyncio.to_thread(locate, self.data_dir, submission.stem)
        where = found[0] if found else None
        if where == "inbox":
            return PlanAnswer(QUEUED, "waiting in Module 1's inbox")
        if where == "failed":
            assert found is not None
            reason = await asyncio.to_thread(failure_reason, found[1])
            await asyncio.to_thread(self._forget, key, submission)
            return PlanAnswer(FAILED, reason)
        if where == "processed":
            done = await self._plan_answer(key, newer_than=submission.submitted_at)
            if done is not None:
                await asyncio.to_thread(self._forget, key, submission)
                return done
            return PlanAnswer(IN_PROGRESS, "plan exported; waiting for Module 2 to load it")
        stage = await asyncio.to_thread(self.stages.latest_stage, MODULE1_SOURCE, key[1])
        if stage is not None and stage.get("status") == "failed" and stage.get("since_ts", 0) >= submission.submitted_at:
            # e.g. Module 1 crashed mid-stage: the supervisor closed the stage; Module 1 retries the file
            return PlanAnswer(IN_PROGRESS, f"last attempt failed ({stage.get('message', '')}); Module 1 retries it", stage)
        if where is None and stage is None:
            return PlanAnswer(IN_PROGRESS, "picked up by Module 1")
        return PlanAnswer(IN_PROGRESS, "being processed", stage)

    def _forget(self, key: tuple[str, str], submission: Submission) -> None:
        with self._lock:
            if self._submissions.get(key) == submission:
                del self._submissions[key]

    async def _plan_answer(self, key: tuple[str, str], *, newer_than: float | None) -> PlanAnswer | None:
        platform, username = key
        account = await self.module2.account(platform, username)
        if account is None or not account.get("plan_url"):
            return None
        if newer_than is not None and parse_timestamp(account.get("generated_at")) < newer_than - 1.0:
            return None  # Module 2 still serves the previous plan
        plan = await self.module2.plan(platform, username)
        if plan is None:
            return None
        images = [{"id": image["id"], "rank": image["rank"], "ready": image["ready"]}
                  for image in account.get("images") or []]
        return PlanAnswer(DONE, f"{account.get('recommendations', 0)} recommendations", plan=plan, images=images)

