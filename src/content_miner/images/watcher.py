"""Polls the exports directory for new, changed and removed content plans.

Polling, not inotify: it works the same on every file system (network mounts, containers), costs
one `stat` per plan per second, and cannot miss an event while the service is busy rendering.
"""

from __future__ import annotations

import logging
import stat
import threading
import time
from dataclasses import dataclass
from pathlib import Path

from content_miner.common.account import AccountKey
from content_miner.pipeline.plan import plan_fingerprint
from content_miner.stage_calls import stage_failed

from .catalog import AccountEntry, ImageStatus, PlanCatalog
from .generator import RENDER_STAGE, ImageGenerator
from .plan_files import PlanFileError, find_plan_files, parse_plan
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
        self._unreadable: dict[AccountKey, tuple[object, ...]] = {}  # the version last reported unreadable
        self._checks: set[AccountKey] = set()  # accounts with an image found missing by a request
        self._checks_lock = threading.Lock()
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
                    "First scan of %s: %d plans, %d already rendered",
                    self._exports_dir,
                    len(self._catalog.keys()),
                    self.up_to_date,
                )
            self._stopping.wait(self._interval)

    def request_check(self, key: AccountKey) -> None:
        """Ask the next scan to check that every image of `key` is still on disk, and render the
        missing ones again (an HTTP handler found one gone). Safe from any thread."""
        with self._checks_lock:
            self._checks.add(key)

    def scan_once(self) -> None:
        found = find_plan_files(self._exports_dir)
        for key in self._catalog.keys() - found.keys():
            self._forget(key)
        for key, path in found.items():
            if self._stopping.is_set():
                return
            try:
                self._check(key, path)
            except Exception as err:  # one account's fault must not keep the others waiting a cycle
                self.scan_errors += 1
                logger.error(
                    "Checking the content plan of %s failed (%d so far): %s: %s",
                    key.label,
                    self.scan_errors,
                    type(err).__name__,
                    err,
                )
                logger.debug("Check failure for %s", key.label, exc_info=True)
        with self._checks_lock:
            checks, self._checks = self._checks, set()
        for key in sorted(checks):
            if self._stopping.is_set():
                return
            self._render_missing(key)

    def _forget(self, key: AccountKey) -> None:
        logger.info("Content plan for %s was removed; dropping its images", key.label)
        self._seen.pop(key, None)
        self._unreadable.pop(key, None)
        self._catalog.remove(key)
        self._store.forget(key)

    def _check(self, key: AccountKey, path: Path) -> None:
        try:
            info = path.stat()
            signature = (info.st_mtime_ns, info.st_size, info.st_ino)
            seen = self._seen.get(key)
            hot = time.time() - info.st_mtime < HOT_FILE_S
            if seen is not None and seen.signature == signature and not hot:
                return
            if not stat.S_ISREG(info.st_mode):  # never read a FIFO: it would block this thread for good
                kind = "it is a directory" if stat.S_ISDIR(info.st_mode) else "it is not a regular file"
                self._cannot_read(key, path, kind)
                return
            raw = path.read_bytes()
        except FileNotFoundError:  # vanished between listing and reading: the next scan decides
            return
        except OSError as err:
            self._cannot_read(key, path, err.strerror or str(err))
            return
        was_unreadable = self._unreadable.pop(key, None) is not None
        digest = plan_fingerprint(raw)
        if seen is not None and seen.fingerprint == digest:
            self._seen[key] = _Seen(signature, digest)
            entry = self._catalog.get(key)
            if (
                was_unreadable
                and entry is not None
                and entry.plan is not None
                and entry.status is not ImageStatus.FAILED
            ):
                self._catalog.update(key, error=None)  # readable again with the bytes already served
            return
        # Noted before loading: a corrupt version is reported once and retried only when it changes.
        self._seen[key] = _Seen(signature, digest)
        self._load(key, raw, digest)

    def _cannot_read(self, key: AccountKey, path: Path, why: str) -> None:
        """Report an unreadable plan file once per version; it is tried again every scan (an
        operator's chmod changes no byte, so waiting for new bytes would wait for ever)."""
        reason = f"cannot read {path.name}: {why}"
        try:
            info = path.stat()
            version: tuple[object, ...] = (info.st_mtime_ns, info.st_ctime_ns, info.st_size, info.st_ino, reason)
        except OSError:
            version = (reason,)
        if self._unreadable.get(key) == version:
            return
        self._unreadable[key] = version
        logger.warning("Skipping content plan %s: %s; will retry every scan", key.label, reason)
        stage_failed(RENDER_STAGE, f"Error: {reason}", username=key.username, details={"platform": key.platform})
        self._mark_unusable(key, reason)

    def _mark_unusable(self, key: AccountKey, reason: str) -> None:
        entry = self._catalog.get(key)
        if entry is None or entry.plan is None:
            self._catalog.put(AccountEntry(key=key, plan=None, status=ImageStatus.INVALID_PLAN, error=reason))
        else:  # keep serving the last good plan
            self._catalog.update(key, error=f"newer plan file skipped: {reason}")

    def _load(self, key: AccountKey, raw: bytes, digest: str) -> None:
        entry = self._catalog.get(key)
        try:
            loaded = parse_plan(key, raw)
        except PlanFileError as err:
            # Logged once per file version: `_seen` holds this digest, so the same bytes are not parsed again.
            logger.warning(
                "Skipping content plan %s (sha256 %s): %s; will retry when the file changes",
                key.label,
                digest[:12],
                err,
            )
            stage_failed(
                RENDER_STAGE,
                f"Error: invalid content plan: {err}",
                username=key.username,
                details={"platform": key.platform},
            )
            self._mark_unusable(key, str(err))
            return
        renders = entry.renders if entry else 0
        all_ids = frozenset(rec.id for rec in loaded.plan.recommendations)
        done = self._store.current_images(key, digest, self._renderer_name)
        if done == all_ids:
            record = self._store.rendered(key)
            logger.debug("Images for %s are up to date with its plan; nothing to render", key.label)
            self.up_to_date += 1
            self._catalog.put(
                AccountEntry(
                    key=key,
                    plan=loaded,
                    status=ImageStatus.READY,
                    rendered=done,
                    rendered_at=record.rendered_at if record else None,
                    renders=renders,
                )
            )
            return
        logger.info("New content plan for %s with %d recommendations", key.label, len(loaded.plan.recommendations))
        self._catalog.put(
            AccountEntry(key=key, plan=loaded, status=ImageStatus.PENDING, rendered=done, renders=renders)
        )
        self._generator.render_account(loaded, done)

    def _render_missing(self, key: AccountKey) -> None:
        entry = self._catalog.get(key)
        if entry is None or entry.plan is None or entry.status is not ImageStatus.READY:
            return  # gone, or being rendered anyway
        present = frozenset(rec_id for rec_id in entry.rendered if self._store.has_image(key, rec_id))
        if present == entry.rendered:
            return
        logger.warning(
            "%d images of %s are missing or not regular files; rendering them again",
            len(entry.rendered - present),
            key.label,
        )
        self._catalog.update(key, status=ImageStatus.PENDING, rendered=present)
        self._generator.render_account(entry.plan, present)
