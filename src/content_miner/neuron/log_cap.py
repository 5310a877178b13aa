"""A module's log file kept under a size: copied aside and emptied when it grows past the cap.

The modules write their stdout and stderr to `<data-dir>/logs/<module>.log`, opened for appending:
a module flooded with warnings (or a bug printing in a loop) would otherwise fill the disk. Every
few seconds the supervisor looks at the size; past the cap the file is copied to `<name>.1` (older
copies shift to `.2`, ... up to `keep`) and truncated in place. The module's descriptor is in append
mode, so its next write lands at the new end: nothing has to be reopened (logrotate's copytruncate).
Lines written between the copy and the truncation are lost, at most a moment's worth.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path


class LogCap:
    def __init__(self, path: Path, max_bytes: int, keep: int) -> None:
        self.path = path
        self.max_bytes = max_bytes
        self.keep = keep

    def copy_name(self, number: int) -> Path:
        return self.path.with_name(f"{self.path.name}.{number}")

    def check(self) -> bool:
        """Rotate if the file is over the cap; True if it was. OSError is the caller's to report."""
        try:
            size = self.path.stat().st_size
        except FileNotFoundError:
            return False
        if size <= self.max_bytes:
            return False
        for number in range(self.keep - 1, 0, -1):
            older = self.copy_name(number)
            if older.exists():
                os.replace(older, self.copy_name(number + 1))
        if self.keep > 0:
            with self.path.open("rb") as source, self.copy_name(1).open("wb") as copy:
                shutil.copyfileobj(source, copy, 1 << 20)
        os.truncate(self.path, 0)
        return True
