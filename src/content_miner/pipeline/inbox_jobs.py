"""The inbox's files and their job records, kept in step: which waiting file Module 1 takes next,
and what becomes of its job when the file is claimed, finished, failed or put back.

A file named `job-<id>.json` belongs to that job (the miner submitted it). Any other file was dropped
by hand: it is read once (its account becomes a job of the submitter `operator`), or refused at once
with its reason when it cannot be used. Job record writes never stop Module 1: a database that
refuses one (a full disk) costs that record a warning line, not the account.
"""

from __future__ import annotations

import functools
import logging
import sqlite3
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import ParamSpec

from content_miner.pipeline.account import AccountFileError, AccountRequest, load_account_file
from content_miner.pipeline.inbox import AccountInbox
from content_miner.pipeline.jobs import OPERATOR, QUEUED, RUNNING, Job, JobStore, job_id_of

logger = logging.getLogger(__name__)

P = ParamSpec("P")

MISSING_FILE_GRACE_S = 60.0  # a queued job's file may be written a moment after its record


@dataclass(frozen=True)
class Waiting:
    job: Job
    path: Path


class InboxJobs:
    def __init__(self, inbox: AccountInbox, store: JobStore, *, clock: Callable[[], float] = time.time) -> None:
        self.inbox = inbox
        self.store = store
        self.clock = clock
        self._read: dict[tuple[str, int, int], AccountRequest] = {}  # hand-dropped files, by (name, mtime, size)
        self._pending: deque[tuple[str, Callable[[], object]]] = deque()  # job record writes held back
        self._holding = False

    # -- choosing -----------------------------------------------------------------------------

    def next_waiting(self, candidates: list[Path], on_bad_file: Callable[[Path, str], None]) -> Waiting | None:
        """The waiting file Module 1 should take now (fair order of their jobs), or None.

        A hand-dropped file that cannot be used is handed to `on_bad_file` with its reason."""
        waiting: list[Waiting] = []
        for path in candidates:
            job = self._job_of(path, on_bad_file)
            if job is not None:
                waiting.append(Waiting(job, path))
        if not waiting:
            return None
        by_id = {item.job.id: item for item in waiting}
        first = self.store.fair_order([item.job for item in waiting])[0]
        return by_id[first.id]

    def _job_of(self, path: Path, on_bad_file: Callable[[Path, str], None]) -> Job | None:
        job_id = job_id_of(path.name)
        if job_id is not None:
            job = self.store.get(job_id)
            if job is not None and job.state == QUEUED:
                return job
        try:
            info = path.stat()
        except OSError:
            return None
        cache_key = (path.name, info.st_mtime_ns, info.st_size)
        request = self._read.get(cache_key)
        if request is None:
            try:
                request = load_account_file(path, relative_to=self.inbox.root)
            except AccountFileError as exc:
                on_bad_file(path, str(exc))
                return None
            if len(self._read) > 10_000:
                self._read.clear()
            self._read[cache_key] = request
        return self.store.register_file(request.key, path.name, force_fresh=request.force_fresh,
                                        max_posts=request.max_posts)

    # -- moving a job along -------------------------------------------------------------------

    def record(self, what: str, action: Callable[P, object], *args: P.args, **kwargs: P.kwargs) -> None:
        """`action(*args, **kwargs)`, a job record write that must not stop the account's processing.

        One the database refuses (a full disk) is kept, with every later one, and written in order by
        `retry_pending` once it can be: a failure's reason outlives a disk that was full for a while.
        """
        self._pending.append((what, functools.partial(action, *args, **kwargs)))
        self.retry_pending()

    def retry_pending(self) -> int:
        """Write the held-back job record updates, oldest first; returns how many are still held."""
        while self._pending:
            what, write = self._pending[0]
            try:
                write()
            except sqlite3.Error as exc:
                if not self._holding:
                    logger.warning("Could not record %s in the job records (%s); keeping it to write later",
                                   what, exc)
                self._holding = True
                return len(self._pending)
            self._pending.popleft()
        if self._holding:
            logger.warning("The job records accepted the updates they had refused")
            self._holding = False
        return 0

    # -- start-up -----------------------------------------------------------------------------

    def recover(self) -> list[str]:
        """Files a crash left in processing/ go back to the inbox (their jobs wait again) or, the
        second time, to failed/ (their jobs fail); jobs still `running` after that lost their file."""
        notes = []
        for found in self.inbox.recover():
            notes.append(found.note())
            job = self._job_for_name(found.name)
            if job is None:
                continue
            if found.requeued_as is not None:
                self.record(f"job {job.id} put back", self.store.requeue, job.id, inbox_file=found.requeued_as)
            else:
                self.record(f"job {job.id} failed", self.store.fail, job.id, found.failure or "interrupted")
        now = self.clock()
        present = {path.name for path in self.inbox.waiting(settled_only=False)}
        for job in self.store.in_state(QUEUED, RUNNING):
            if job.state == RUNNING:
                self.record(f"job {job.id} failed", self.store.fail, job.id,
                            "interrupted: Module 1 stopped while processing it and its account file is gone")
            elif job.inbox_file not in present and now - job.created_at > MISSING_FILE_GRACE_S:
                self.record(f"job {job.id} failed", self.store.fail, job.id,
                            "its account file is no longer in the inbox")
        return notes

    def _job_for_name(self, name: str) -> Job | None:
        job_id = job_id_of(name)
        if job_id is not None:
            return self.store.get(job_id)
        matches = [job for job in self.store.in_state(QUEUED, RUNNING)
                   if job.submitter == OPERATOR and job.inbox_file == name]
        return matches[0] if matches else None

