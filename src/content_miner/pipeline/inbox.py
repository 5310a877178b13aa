"""The AccountInfo inbox: account files waiting to be processed, oldest first.

    AccountInfo/             files dropped here (by the miner's axon, or by hand)
    AccountInfo/processing/  the file being processed now (claimed by an atomic rename)
    AccountInfo/processed/   done
    AccountInfo/failed/      could not be processed, with `<name>.reason.txt` beside it

Files are moved, never changed. A file left in `processing/` by a crash is put back once; if
Module 1 dies on it again it goes to `failed/`, so one poisonous file cannot crash-loop it.
"""

from __future__ import annotations

import json
import logging
import os
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path

from content_miner.common.layout import DataLayout

logger = logging.getLogger(__name__)

SETTLE_S = 0.5  # a file younger than this may still be being written by a plain copy
RETRIED_MARK = ".requeued"
REASON_SUFFIX = ".reason.txt"
MAX_NAME_BYTES = 255  # the limit of ext4, xfs, btrfs and most others


class AccountInbox:
    def __init__(self, layout: DataLayout, *, clock: Callable[[], float] = time.time) -> None:
        self.root = layout.inbox
        self.processing = layout.inbox_processing
        self.processed = layout.inbox_processed
        self.failed_dir = layout.inbox_failed
        self.clock = clock
        self._future: dict[str, tuple[float, int]] = {}  # files dated ahead of the clock: first seen, size

    def drop(self, name: str, body: dict) -> Path:
        """Put an account file into the inbox under `name`, atomically: a dot-named temp file (which
        Module 1 ignores) renamed into place once complete, so Module 1 never reads half a file."""
        self.root.mkdir(parents=True, exist_ok=True)
        target = self.root / name
        temp = self.root / f".{name}.tmp"
        try:
            temp.write_text(json.dumps(body, indent=2) + "\n", encoding="utf-8")
            os.replace(temp, target)
        except BaseException:
            temp.unlink(missing_ok=True)
            raise
        return target

    def prune(self, *, keep_days: float, keep_files: int) -> int:
        """Remove files of `processed/` and `failed/` (with their reasons) older than `keep_days`, and
        the oldest beyond `keep_files` per folder; returns how many account files went."""
        removed = 0
        cutoff = self.clock() - keep_days * 86400.0
        for folder in (self.processed, self.failed_dir):
            try:
                entries = [entry for entry in os.scandir(folder)
                           if entry.is_file(follow_symlinks=False) and not entry.name.endswith(REASON_SUFFIX)]
            except OSError:
                continue
            dated = sorted(((_mtime(entry), entry.path) for entry in entries), reverse=True)
            for index, (mtime, path) in enumerate(dated):
                if index >= keep_files or mtime < cutoff:
                    for gone in (path, path + REASON_SUFFIX):
                        try:
                            os.unlink(gone)
                        except FileNotFoundError:
                            pass
                        except OSError as exc:
                            logger.warning("Cannot prune %s: %s", gone, exc.strerror or exc)
                    removed += 1
        return removed

    def ensure(self) -> None:
        for folder in (self.root, self.processing, self.processed, self.failed_dir):
            folder.mkdir(parents=True, exist_ok=True)

    def waiting(self, *, settled_only: bool = True) -> list[Path]:
        """Account files ready to process, oldest first (by modification time, then name); with
        `settled_only` False, also those young enough to be still being written."""
        found = []
        try:
            entries = list(os.scandir(self.root))
        except FileNotFoundError:
            return []
        now = self.clock()
        for entry in entries:
            if entry.name.startswith(".") or not entry.name.lower().endswith(".json"):
                continue
            try:
                if entry.is_dir(follow_symlinks=False):
                    continue
                info = entry.stat(follow_symlinks=False)
            except FileNotFoundError:
                continue
            if not settled_only or self._settled(entry.name, info.st_mtime, info.st_size, now):
                found.append((info.st_mtime, entry.name, Path(entry.path)))
        return [path for _, _, path in sorted(found)]

    def _settled(self, name: str, mtime: float, size: int, now: float) -> bool:
        """Old enough not to be still being written. A file dated ahead of the clock (a clock step,
        `cp -p` from a host that is ahead) cannot be judged by its date: it is settled once it has
        kept its size for SETTLE_S on our own clock, and processed with one warning."""
        if mtime <= now + SETTLE_S:
            return now - mtime >= SETTLE_S
        seen = self._future.get(name)
        here = time.monotonic()
        if seen is None or seen[1] != size:
            self._future[name] = (here, size)
            if seen is None:
                logger.warning("Account file %s is dated %.0f s in the future (is a clock wrong?); "
                               "processing it anyway", name, mtime - now)
            return False
        if len(self._future) > 10_000:
            self._future.clear()
        return here - seen[0] >= SETTLE_S

    def claim(self, path: Path) -> Path | None:
        """Move `path` into processing/; None if another process took it first."""
        target = self.processing / path.name
        try:
            os.rename(path, target)
        except FileNotFoundError:
            return None
        return target

    def done(self, claimed: Path) -> Path:
        return self._move(claimed, self.processed)

    def reject(self, claimed: Path, reason: str) -> Path:
        """Move to failed/ and write the one-line reason beside it (best effort: on a full disk the
        move still happens and the reason stays in the job record and the stage log)."""
        moved = self._move(claimed, self.failed_dir)
        stamp = datetime.now(timezone.utc).isoformat(timespec="seconds")
        try:
            moved.with_name(moved.name + REASON_SUFFIX).write_text(f"{stamp} {reason}\n", encoding="utf-8")
        except OSError as exc:
            logger.warning("Cannot write the reason file for %s: %s", moved.name, exc.strerror or exc)
        return moved

    def put_back(self, claimed: Path) -> Path:
        """Return an interrupted file to the inbox, to be processed again."""
        target = self.root / claimed.name
        os.rename(claimed, target)
        return target

    def recover(self) -> list[Recovered]:
        """Files a crash left in processing/: back to the inbox once, then to failed/."""
        found = []
        for leftover in sorted(self.processing.glob("*")):
            if not leftover.is_file():
                continue
            if RETRIED_MARK in leftover.name:
                reason = "Module 1 stopped twice while processing this account"
                self.reject(leftover, reason)
                found.append(Recovered(leftover.name, None, reason))
            else:
                stem, suffix = os.path.splitext(leftover.name)
                target = self.root / _fitted(stem, f"{RETRIED_MARK}{suffix}")
                os.rename(leftover, target)
                found.append(Recovered(leftover.name, target.name, None))
        return found

    def _move(self, source: Path, folder: Path) -> Path:
        stem, suffix = os.path.splitext(source.name)
        stamp = datetime.fromtimestamp(self.clock(), timezone.utc).strftime("%Y%m%dT%H%M%SZ")
        target = folder / _fitted(stem, f".{stamp}{suffix}")
        counter = 1
        while target.exists():
            counter += 1
            target = folder / _fitted(stem, f".{stamp}-{counter}{suffix}")
        os.rename(source, target)
        return target


@dataclass(frozen=True)
class Recovered:
    """A file found in processing/ at start-up: put back in the inbox (`requeued_as`), or failed."""

    name: str
    requeued_as: str | None
    failure: str | None

    def note(self) -> str:
        if self.requeued_as is not None:
            return f"{self.name}: put back in the inbox (interrupted)"
        return f"{self.name}: moved to failed/ (interrupted twice)"


def _mtime(entry: os.DirEntry[str]) -> float:
    try:
        return entry.stat(follow_symlinks=False).st_mtime
    except OSError:
        return 0.0


def _fitted(stem: str, tail: str) -> str:
    """`stem + tail`, the stem cut (at a character boundary) so that the name, and the reason file
    named after it, stay within the file system's limit: a long dropped name must not make the
    move that files it away fail."""
    budget = MAX_NAME_BYTES - len(REASON_SUFFIX) - len(tail.encode("utf-8"))
    encoded = stem.encode("utf-8")
    if len(encoded) > budget:
        stem = encoded[:budget].decode("utf-8", "ignore")
    return stem + tail
