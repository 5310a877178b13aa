"""How to reach a running process: a small JSON file per process under `<data_dir>/run/`.

A process that listens on a port it was not told in advance (`--port 0`) writes its port here once
it listens and removes the file when it stops; whoever needs the port reads it from here. The file is
replaced atomically, so a reader sees a whole file or none.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

from content_miner.common.atomic_files import write_text_atomic


def write_endpoint(path: Path, **info: Any) -> None:
    write_text_atomic(path, json.dumps({"pid": os.getpid(), **info}) + "\n", durable=False)


def read_endpoint(path: Path) -> dict[str, Any] | None:
    """The file's fields, or None when there is no usable file (not written yet, or damaged)."""
    try:
        info = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return info if isinstance(info, dict) else None


def endpoint_port(path: Path) -> int | None:
    info = read_endpoint(path)
    port = info.get("port") if info else None
    return port if isinstance(port, int) and not isinstance(port, bool) and 0 < port < 65536 else None


def remove_endpoint(path: Path) -> None:
    """Remove the file if this process wrote it (a successor may have replaced it already)."""
    info = read_endpoint(path)
    if info is not None and info.get("pid") == os.getpid():
        path.unlink(missing_ok=True)
