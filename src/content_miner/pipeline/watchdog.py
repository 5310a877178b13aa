"""Watchdog mode: process each account of the `AccountInfo/` inbox as it appears, fairly.

Between accounts the inbox is looked at again, so an account submitted by another validator while
one validator's long list is being worked through is taken at its turn (the job records' fair order)
rather than after the whole list.
"""

from __future__ import annotations

import logging
import threading
import time
from dataclasses import dataclass
from pathlib import Path

from content_miner.common.heap import release_freed_memory
from content_miner.common.shutdown import wait
from content_miner.pipeline.account import AccountFileError, load_account_file
from content_miner.pipeline.inbox import AccountInbox
from content_miner.pipeline.inbox_jobs import InboxJobs
from content_miner.pipeline.jobs import Job, JobStore
from content_miner.pipeline.pipeline import EXPECTED_FAILURES, AccountPipeline, Shutdown, StageFailure, one_line
from content_miner.stage_calls import stage_complete, stage_failed, stage_start
from content_miner.tracker.stages import stage_name

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class WatchSettings:
    wait_seconds: float = 300.0  # how often the "waiting" line is reported
    poll_seconds: float = 1.0  # how often the inbox is looked at
    once: bool = False  # process what is waiting, then return
    keep_days: float = 7.0  # processed/ and failed/ files, and finished job records, kept this long
    keep_files: int = 1000  # ... and at most this many per folder (job records: ten times as many)
    prune_every_s: float = 3600.0


class InboxWatcher:
    def __init__(self, pipeline: AccountPipeline, inbox: AccountInbox, store: JobStore, settings: WatchSettings,
                 stop: threading.Event) -> None:
        self.pipeline, self.inbox, self.settings, self.stop = pipeline, inbox, settings, stop
        self.jobs = InboxJobs(inbox, store)
        self.store = store
        self.processed = self.failed = 0
        self._waiting_since: float | None = None
        self._next_prune = 0.0
        self._unmovable: dict[Path, float] = {}  # inbox files that could not be moved: their mtime then

    def run(self) -> None:
        stage_start(0, "Starting watchdog mode")
        try:
            self.inbox.ensure()
            for note in self.jobs.recover():
                logger.warning("Recovered account file %s", note)
            self._prune()
            self.pipeline.warm_up()
        except EXPECTED_FAILURES as exc:
            stage_failed(0, f"Watchdog mode could not start: {one_line(exc)}")
            raise
        except Shutdown:  # stopped while starting: a planned stop, not a failure (the entry point exits 0)
            stage_failed(0, "Interrupted: Module 1 is shutting down", details={"interrupted": True})
            raise
        stage_complete(0, "Watchdog mode initialized successfully")
        after_work = False
        try:
            while not self.stop.is_set():
                self.jobs.retry_pending()
                self._prune()
                candidates = [path for path in self.inbox.waiting() if not self._still_unmovable(path)]
                chosen = self.jobs.next_waiting(candidates, self._reject_unread) if candidates else None
                if chosen is not None:
                    self._end_wait("Wait cycle completed - checking for new accounts")
                    try:
                        self.process(chosen.path, chosen.job)
                    except OSError as exc:  # the file system refused a move: skip the file, go on
                        self._note_unmovable(chosen.path, exc)
                    after_work = True
                    continue
                if self.settings.once and not [path for path in self.inbox.waiting(settled_only=False)
                                               if not self._still_unmovable(path)]:
                    break
                self._wait_cycle("Waiting for accounts to process" if after_work else None)
                after_work = False
                wait(self.stop, self.settings.poll_seconds)
        except Shutdown:
            pass
        finally:
            self._end_wait("Watchdog mode stopped")

    def _prune(self) -> None:
        now = time.monotonic()
        if now < self._next_prune:
            return
        self._next_prune = now + self.settings.prune_every_s
        files = self.inbox.prune(keep_days=self.settings.keep_days, keep_files=self.settings.keep_files)
        self.jobs.record("pruning", self.store.prune, keep_days=self.settings.keep_days,
                         keep_finished=self.settings.keep_files * 10)
        if files:
            logger.info("Pruned %d old account files from processed/ and failed/", files)

    def _reject_unread(self, path: Path, reason: str) -> None:
        """A hand-dropped file that cannot be used: failed/ with its reason, at once."""
        claimed = self.inbox.claim(path)
        if claimed is None:
            return
        stage_failed(0, f"Rejected account file {path.name}: {reason}")
        self.inbox.reject(claimed, reason)
        self.failed += 1

    def _note_unmovable(self, path: Path, exc: OSError) -> None:
        reason = f"Cannot move account file {path.name!r}: {exc.strerror or exc}; skipping it until it changes"
        logger.warning(reason)
        stage_failed(0, reason)
        self.failed += 1
        try:
            self._unmovable[path] = path.stat().st_mtime
        except OSError:
            self._unmovable.pop(path, None)

    def _still_unmovable(self, path: Path) -> bool:
        if path not in self._unmovable:
            return False
        try:
            return path.stat().st_mtime == self._unmovable[path]
        except OSError:
            return False

    def _wait_cycle(self, first_message: str | None) -> None:
        now = time.monotonic()
        if self._waiting_since is not None and now - self._waiting_since < self.settings.wait_seconds:
            return
        self._end_wait("Wait cycle completed - checking for new accounts")
        seconds = f"{self.settings.wait_seconds:g}"
        stage_start(0, first_message or f"No accounts found - waiting {seconds} seconds for new accounts",
                    details={"idle": True})  # waiting for work: the status shows `idle`
        self._waiting_since = now

    def _end_wait(self, message: str) -> None:
        if self._waiting_since is not None:
            stage_complete(0, message)
            self._waiting_since = None

    def process(self, path: Path, job: Job) -> None:
        claimed = self.inbox.claim(path)
        if claimed is None:
            return
        try:
            request = load_account_file(claimed, relative_to=self.inbox.root)
        except AccountFileError as exc:
            stage_failed(0, f"Rejected account file {path.name}: {exc}")
            self.inbox.reject(claimed, str(exc))
            self.jobs.record(f"job {job.id} failed", self.store.fail, job.id, str(exc))
            self.failed += 1
            return
        self.jobs.record(f"job {job.id} started", self.store.start, job.id)
        try:
            fresh = " with fresh scraping" if request.force_fresh else ""
            result = self.pipeline.run(
                request, scrape_message=f"Processing {request.platform} account{fresh}",
                on_stage=lambda number: self.jobs.record(f"job {job.id} stage", self.store.set_stage, job.id, number,
                                                         stage_name(number)))
        except StageFailure as failure:
            release_freed_memory()
            reason = f"Stage {failure.stage} failed: {failure.reason}"
            self.jobs.record(f"job {job.id} failed", self.store.fail, job.id, reason)
            self.inbox.reject(claimed, reason)
            self.failed += 1
        except Shutdown:
            back = self.inbox.put_back(claimed)  # processed again at the next start
            self.jobs.record(f"job {job.id} put back", self.store.requeue, job.id, inbox_file=back.name)
            raise
        else:
            release_freed_memory()  # what the account used goes back to the system (common/heap.py)
            self.jobs.record(f"job {job.id} done", self.store.finish, job.id, plan_fingerprint=result.plan_sha256,
                             recommendations=result.recommendations)
            self.inbox.done(claimed)
            self.processed += 1
            logger.info("Content plan for %s: %s", request.username, result.plan_path)
