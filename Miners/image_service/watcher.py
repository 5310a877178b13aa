"""Polls the exports directory for new, changed and removed content plans.

Polling, not inotify: it works the same on every file system (network mounts, containers), costs
one `stat` per plan per second, and cannot miss an event while the service is busy rendering.
"""

from __future__ import annotations

import logging
import threading
import time
from dataclasses import dataclass
from pathlib import Path

from stage_calls import stage_failed

from .catalog import AccountEntry, ImageStatus, PlanCatalog
from .generator import RENDER_STAGE, ImageGenerator
from .names import AccountKey
from .plan_files import PlanFileError, find_plan_files, fingerprint, parse_plan
from .store import ImageStore

logger = logging.getLogger(__name__)

HOT_FILE_S = 2.0  # a file modified this recently is re-read even if its stat looks unchanged (coarse mtimes)


@dataclass(frozen=True)
class _Seen:
    signature: tuple[int, int, int]  # mtime_ns, size, inode
    fingerprint: str


class PlanWatcher:
    def __init__(
        self,
        exports_dir: Path,
        catalog: PlanCatalog,
        store: ImageStore,
        generator: ImageGenerator,
        renderer_name: str,
        *,
        poll_interval_s: float,
        stopping: threading.Event,
    ) -> None:
        self._exports_dir = exports_dir
        self._catalog = catalog
        self._store = store
        self._generator = generator
        self._renderer_name = renderer_name
        self._interval = poll_interval_s
        self._stopping = stopping
        self._seen: dict[AccountKey, _Seen] = {}
        self._thread: threading.Thread | None = None
        self.scans = 0
        self.scan_errors = 0
        self.up_to_date = 0  # plans found already rendered (restart), since start

    def start(self) -> None:
        self._thread = threading.Thread(target=self._run, name="plan-watcher", daemon=True)
        self._thread.start()

    def join(self, timeout: float) -> bool:
        """Wait for the thread to end after `stopping` is set; True if it did."""
        if self._thread is None:
            return True
        self._thread.join(timeout)
        return not self._thread.is_alive()

    def _run(self) -> None:
        while not self._stopping.is_set():
            try:
                self.scan_once()
            except Exception as err:  # keep watching; a persistent fault shows in the count and the log
                self.scan_errors += 1
                logger.error("Scanning %s failed (%d so far): %s", self._exports_dir, self.scan_errors, err)
                logger.debug("Scan failure", exc_info=True)
            self.scans += 1
            if self.scans == 1:
                logger.info(
                    "First scan of %s: %d plans, %d already rendered", self._exports_dir, len(self._catalog.keys()), self.up_to_date
                )
            self._stopping.wait(self._interval)

    def scan_once(self) -> None:
        found = find_plan_files(self._exports_dir)
        for key in self._catalog.keys() - found.keys():
            self._forget(key)
        for key, path in found.items():
            if self._stopping.is_set():
                return
            self._check(key, path)

    def _forget(self, key: AccountKey) -> None:
        logger.info("Content plan for %s was removed; dropping its images", key.label)
        self._seen.pop(key, None)
        self._catalog.remove(key)
        self._store.forget(key)

    def _check(self, key: AccountKey, path: Path) -> None:
        try:
            stat = path.stat()
            signature = (stat.st_mtime_ns, stat.st_size, stat.st_ino)
            seen = self._seen.get(key)
            hot = time.time() - stat.st_mtime < HOT_FILE_S
            if seen is not None and seen.signature == signature and not hot:
                return
            raw = path.read_bytes()
        except OSError as err:  # vanished or unreadable between listing and reading: next scan decides
            logger.debug("Cannot read %s: %s", path, err)
            return
        digest = fingerprint(raw)
        if seen is not None and seen.fingerprint == digest:
            self._seen[key] = _Seen(signature, digest)
            return
        self._seen[key] = _Seen(signature, digest)
        self._load(key, raw, digest)

    def _load(self, key: AccountKey, raw: bytes, digest: str) -> None:
        entry = self._catalog.get(key)
        try:
            loaded = parse_plan(key, raw)
        except PlanFileError as err:
            # Logged once per file version: `_seen` holds this digest, so the same bytes are not parsed again.
            logger.warning(
                "Skipping content plan %s (sha256 %s): %s; will retry when the file changes", key.label, digest[:12], err
            )
            stage_failed(RENDER_STAGE, f"Error: invalid content plan: {err}", username=key.username, details={"platform": key.platform})
            if entry is None or entry.plan is None:
                self._catalog.put(AccountEntry(key=key, plan=None, status=ImageStatus.INVALID_PLAN, error=str(err)))
            else:
                self._catalog.update(key, error=f"newer plan file skipped: {err}")
            return
        renders = entry.renders if entry else 0
        if self._store.is_current(key, digest, self._renderer_name):
            record = self._store.rendered(key)
            logger.debug("Images for %s are up to date with its plan; nothing to render", key.label)
            self.up_to_date += 1
            self._catalog.put(
                AccountEntry(
                    key=key,
                    plan=loaded,
                    status=ImageStatus.READY,
                    images_ready=len(loaded.plan.recommendations),
                    rendered_at=record.rendered_at if record else None,
                    renders=renders,
                )
            )
            return
        logger.info("New content plan for %s with %d recommendations", key.label, len(loaded.plan.recommendations))
        self._catalog.put(AccountEntry(key=key, plan=loaded, status=ImageStatus.PENDING, renders=renders))
        self._generator.render_account(loaded)
