"""Replacing a file atomically: a reader sees the old file or the new one, never a part of either.

The temp file is unique (so concurrent writers never share one) and sits beside the target (rename
is atomic only within one file system). A writer killed mid-write leaves at most a stray
`.<name>.*.tmp` file, never a damaged target.
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path


def write_bytes_atomic(path: Path, data: bytes, *, durable: bool = True, mode: int = 0o644) -> Path:
    """Write `data` over `path` atomically. `durable` also flushes it to disk before the rename
    (for results worth keeping; live state that is rewritten every moment can skip it)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    handle, temporary = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(handle, "wb") as out:
            out.write(data)
            if durable:
                out.flush()
                os.fsync(out.fileno())
        os.chmod(temporary, mode)
        os.replace(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise
    return path


def write_text_atomic(path: Path, text: str, *, durable: bool = True) -> Path:
    return write_bytes_atomic(path, text.encode("utf-8"), durable=durable)
