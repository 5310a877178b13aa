"""Handing freed memory back to the system between accounts.

A long-running Module 1 allocates and frees hundreds of MB per account (posts, embeddings, model
fits, Chroma's buffers, onnxruntime's arenas). glibc keeps freed pages in its heaps for reuse, and
with many threads it keeps many heaps, so the resident size creeps up with every account although
nothing is leaked. `release_freed_memory()` after each account returns the free pages
(`malloc_trim(0)`); the supervisor also starts the modules with `MALLOC_ARENA_MAX=2` (fewer heaps to
fragment) unless the operator set it. Measured by `scripts/bench_memory.py`.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import sys
from collections.abc import Callable
from functools import cache

ARENA_ENV = "MALLOC_ARENA_MAX"
ARENAS = "2"


@cache
def _trim() -> Callable[[int], int] | None:
    if not sys.platform.startswith("linux"):
        return None
    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6")
        trim = libc.malloc_trim
    except (OSError, AttributeError):  # not glibc (musl has no malloc_trim)
        return None
    trim.argtypes, trim.restype = [ctypes.c_size_t], ctypes.c_int
    return trim


def release_freed_memory() -> bool:
    """Give the C heap's free pages back to the system; False where that cannot be done."""
    trim = _trim()
    if trim is None:
        return False
    trim(0)
    return True
