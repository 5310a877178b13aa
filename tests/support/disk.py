"""A small file system that can be filled: a tmpfs mounted for one test (root only, else skipped)."""

from __future__ import annotations

import contextlib
import os
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest


@contextlib.contextmanager
def small_disk(where: Path, size_mb: int) -> Iterator[Path]:
    where.mkdir(parents=True, exist_ok=True)
    if os.geteuid() != 0:
        pytest.skip("mounting a tmpfs needs root")
    mounted = subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={size_mb}m", "tmpfs", str(where)],
                             capture_output=True, text=True)
    if mounted.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here: {mounted.stderr.strip()}")
    try:
        yield where
    finally:
        subprocess.run(["umount", "-l", str(where)], capture_output=True)


def fill(disk: Path, leave_bytes: int = 0) -> Path:
    """Fill `disk` until at most `leave_bytes` are free; returns the filler file to delete later."""
    filler = disk / "filler.bin"
    with filler.open("ab") as out:
        stats = os.statvfs(disk)
        free = stats.f_bavail * stats.f_frsize
        try:
            out.write(b"\0" * max(0, free - leave_bytes))
            out.flush()
            while leave_bytes == 0:
                out.write(b"\0" * 65536)
                out.flush()
        except OSError:
            pass
    return filler
