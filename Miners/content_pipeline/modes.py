"""Module 1's two ways of working: watchdog mode (the inbox) and direct mode (one account now)."""

from __future__ import annotations

import logging
import signal
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from types import FrameType

from stage_calls import stage_complete, stage_failed, stage_start

from content_pipeline.account import AccountFileError, load_account_file, parse_account
from content_pipeline.inbox import AccountInbox
from content_pipeline.pipeline import EXPECTED_FAILURES, AccountPipeline, Shutdown, StageFailure, one_line

logger = logging.getLogger(__name__)


def install_shutdown_handlers(stop: threading.Event) -> None:
    """First signal: stop between accounts, or interrupt the current stage. Exit code stays 0."""

    def on_signal(signum: int, _frame: FrameType | None) -> None:
        logger.info("Received %s; stopping", signal.Signals(signum).name)
        stop.set()
        raise Shutdown()

    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)


@dataclass(frozen=True)
class WatchSettings:
    wait_seconds: float = 300.0  # how often the "waiting" line is reported
    poll_seconds: float = 1.0  # how often the inbox is looked at
    once: bool = False  # process what is waiting, then return


class InboxWatcher:
    """Watchdog mode: process each account file as it appears, oldest first."""

    def __init__(self, pipeline: AccountPipeline, inbox: AccountInbox, settings: WatchSettings,
                 stop: threading.Event) -> None:
        self.pipeline, self.inbox, self.settings, self.stop = pipeline, inbox, settings, stop
        self.processed = self.failed = 0
        self._waiting_since: float | None = None
        self._unmovable: dict[Path, float] = {}  # inbox files that could not be moved: their mtime then

    def run(self) -> None:
        stage_start(0, "Starting watchdog mode")
        try:
            self.inbox.ensure()
            for note in self.inbox.recover():
                logger.warning("Recovered account file %s", note)
            self.pipeline.warm_up()
        except EXPECTED_FAILURES as exc:
            stage_failed(0, f"Watchdog mode could not start: {one_line(exc)}")
            raise
        stage_complete(0, "Watchdog mode initialized successfully")
        after_work = False
        try:
            while not self.stop.is_set():
                waiting = [path for path in self.inbox.waiting() if not self._still_unmovable(path)]
                if waiting:
                    self._end_wait("Wait cycle completed - checking for new accounts")
                    for path in waiting:
                        if self.stop.is_set():
                            break
                        try:
                            self.process(path)
                        except OSError as exc:  # the file system refused a move: skip the file, go on
                            self._note_unmovable(path, exc)
                    after_work = True
                    continue
                if self.settings.once:
                    break
                self._wait_cycle("Waiting for accounts to process" if after_work else None)
                after_work = False
                self.stop.wait(self.settings.poll_seconds)
        except Shutdown:
            pass
        finally:
            self._end_wait("Watchdog mode stopped")

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
        stage_start(0, first_message or f"No accounts found - waiting {seconds} seconds for new accounts")
        self._waiting_since = now

    def _end_wait(self, message: str) -> None:
        if self._waiting_since is not None:
            stage_complete(0, message)
            self._waiting_since = None

    def process(self, path: Path) -> None:
        claimed = self.inbox.claim(path)
        if claimed is None:
            return
        try:
            request = load_account_file(claimed, relative_to=self.inbox.root)
        except AccountFileError as exc:
            reason = f"Rejected account file {path.name}: {exc}"
            stage_failed(0, reason)
            self.inbox.reject(claimed, str(exc))
            self.failed += 1
            return
        try:
            fresh = " with fresh scraping" if request.force_fresh else ""
            result = self.pipeline.run(request, scrape_message=f"Processing {request.platform} account{fresh}")
        except StageFailure as failure:
            self.inbox.reject(claimed, f"Stage {failure.stage} failed: {failure.reason}")
            self.failed += 1
        except Shutdown:
            self.inbox.put_back(claimed)  # processed again at the next start
            raise
        else:
            self.inbox.done(claimed)
            self.processed += 1
            logger.info("Content plan for %s: %s", request.username, result.plan_path)


def run_direct(pipeline: AccountPipeline, request_data: dict, *, force_fresh: bool) -> tuple[int, str]:
    """Direct mode: (exit code, one line for the user)."""
    platform, username = request_data.get("platform", ""), request_data.get("username", "")
    stage_start(0, f"Direct processing mode for {platform} account: {username}")
    try:
        request = parse_account(request_data)
    except AccountFileError as exc:
        stage_failed(0, str(exc))
        return 2, str(exc)
    stage_complete(0, "Direct processing mode initialized")
    message = f"Force fresh scraping for {request.username}" if force_fresh else None
    try:
        result = pipeline.run(request, scrape_message=message)
    except StageFailure as failure:
        return 1, f"Stage {failure.stage} failed for {request.username}: {failure.reason}"
    except Shutdown:
        return 130, f"Interrupted while processing {request.username}"
    return 0, f"Content plan for {request.username}: {result.plan_path} ({result.recommendations} recommendations)"
