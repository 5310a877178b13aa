"""The AccountInfo inbox: account files waiting to be processed, oldest first.

    AccountInfo/             files dropped here (by the miner's axon, or by hand)
    AccountInfo/processing/  the file being processed now (claimed by an atomic rename)
    AccountInfo/processed/   done
    AccountInfo/failed/      could not be processed, with `<name>.reason.txt` beside it

Files are moved, never changed. A file left in `processing/` by a crash is put back once; if
Module 1 dies on it again it goes to `failed/`, so one poisonous file cannot crash-loop it.
"""

from __future__ import annotations

import logging
import os
import time
from collections.abc import Callable
from datetime import datetime, timezone
from pathlib import Path

from miner_paths import ACCOUNT_INBOX

logger = logging.getLogger(__name__)

SETTLE_S = 0.5  # a file younger than this may still be being written by a plain copy
RETRIED_MARK = ".requeued"
REASON_SUFFIX = ".reason.txt"
MAX_NAME_BYTES = 255  # the limit of ext4, xfs, btrfs and most others


class AccountInbox:
    def __init__(self, data_dir: Path, *, clock: Callable[[], float] = time.time) -> None:
        self.root = Path(data_dir) / ACCOUNT_INBOX
        self.processing = self.root / "processing"
        self.processed = self.root / "processed"
        self.failed_dir = self.root / "failed"
        self.clock = clock

    def ensure(self) -> None:
        for folder in (self.root, self.processing, self.processed, self.failed_dir):
            folder.mkdir(parents=True, exist_ok=True)

    def waiting(self) -> list[Path]:
        """Account files ready to process, oldest first (by modification time, then name)."""
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
                mtime = entry.stat(follow_symlinks=False).st_mtime
            except FileNotFoundError:
                continue
            if now - mtime >= SETTLE_S:
                found.append((mtime, entry.name, Path(entry.path)))
        return [path for _, _, path in sorted(found)]

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
        """Move to failed/ and write the one-line reason beside it."""
        moved = self._move(claimed, self.failed_dir)
        stamp = datetime.now(timezone.utc).isoformat(timespec="seconds")
        moved.with_name(moved.name + REASON_SUFFIX).write_text(f"{stamp} {reason}\n", encoding="utf-8")
        return moved

    def put_back(self, claimed: Path) -> Path:
        """Return an interrupted file to the inbox, to be processed again."""
        target = self.root / claimed.name
        os.rename(claimed, target)
        return target

    def recover(self) -> list[str]:
        """Files a crash left in processing/: back to the inbox once, then to failed/."""
        notes = []
        for leftover in sorted(self.processing.glob("*")):
            if not leftover.is_file():
                continue
            if RETRIED_MARK in leftover.name:
                self.reject(leftover, "Module 1 stopped twice while processing this account")
                notes.append(f"{leftover.name}: moved to failed/ (interrupted twice)")
            else:
                stem, suffix = os.path.splitext(leftover.name)
                os.rename(leftover, self.root / _fitted(stem, f"{RETRIED_MARK}{suffix}"))
                notes.append(f"{leftover.name}: put back in the inbox (interrupted)")
        return notes

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


def _fitted(stem: str, tail: str) -> str:
    """`stem + tail`, the stem cut (at a character boundary) so that the name, and the reason file
    named after it, stay within the file system's limit: a long dropped name must not make the
    move that files it away fail."""
    budget = MAX_NAME_BYTES - len(REASON_SUFFIX) - len(tail.encode("utf-8"))
    encoded = stem.encode("utf-8")
    if len(encoded) > budget:
        stem = encoded[:budget].decode("utf-8", "ignore")
    return stem + tail
