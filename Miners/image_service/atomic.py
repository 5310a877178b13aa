"""Atomic file replacement: readers see the old file or the new one, never a part of either."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path


def write_atomically(path: Path, data: bytes) -> None:
    """Write `data` to a unique temp file beside `path`, flush it to disk, then `os.replace`.

    The temp file lives in the same directory so the rename stays on one file system (rename is
    atomic only there); a unique name lets concurrent writers never share a temp file. A crash
    leaves at most a stray `.tmp` file, which the next write ignores.
    """
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp_name = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp_name, path)
    except BaseException:
        try:
            os.unlink(tmp_name)
        except OSError:
            pass
        raise
