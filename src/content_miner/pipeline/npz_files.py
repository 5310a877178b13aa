"""Module 1's numeric files (vector caches, engagement models, fits): an .npz of plain arrays and
one JSON `meta` entry, written atomically and read without unpickling anything."""

from __future__ import annotations

import io
import json
import zipfile
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

import numpy as np

from content_miner.common.atomic_files import write_bytes_atomic


def write_npz(path: Path, meta: Mapping[str, Any], arrays: Mapping[str, np.ndarray], *,
              default: Callable[[object], object] | None = None) -> None:
    """`meta` (JSON; `default` as in json.dumps) and `arrays` in one file, replaced atomically; OSError if refused."""
    buffer = io.BytesIO()
    np.savez(buffer, meta=np.array(json.dumps(meta, default=default)), **arrays)  # type: ignore[arg-type]
    write_bytes_atomic(path, buffer.getvalue())


def read_npz(path: Path) -> tuple[dict[str, Any], dict[str, np.ndarray]]:
    """The meta and the arrays of a file `write_npz` wrote. FileNotFoundError or OSError when it
    cannot be read; ValueError or KeyError when it is not such a file (a damaged one included)."""
    try:
        with np.load(path, allow_pickle=False) as data:
            meta = json.loads(str(data["meta"]))
            arrays = {name: data[name] for name in data.files if name != "meta"}
    except (zipfile.BadZipFile, EOFError) as exc:  # neither an OSError nor a ValueError (EOFError: an empty file)
        raise ValueError(f"damaged archive: {exc or type(exc).__name__}") from None
    if not isinstance(meta, dict):
        raise ValueError("its meta is not a JSON object")
    return meta, arrays
