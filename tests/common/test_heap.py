"""Handing freed memory back to the system between accounts (glibc's malloc_trim)."""

from __future__ import annotations

import ctypes
import sys

import psutil
import pytest

from content_miner.common.heap import release_freed_memory


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="glibc's malloc_trim is Linux-only")
def test_freed_heap_memory_goes_back_to_the_system() -> None:
    """Many small blocks freed in one heap stay resident until trimmed (glibc keeps them for reuse)."""
    process = psutil.Process()
    libc = ctypes.CDLL(None)
    libc.malloc.restype, libc.malloc.argtypes = ctypes.c_void_p, [ctypes.c_size_t]
    libc.free.argtypes = [ctypes.c_void_p]
    blocks = [libc.malloc(4000) for _ in range(50_000)]  # ~200 MB below the mmap threshold
    for block in blocks:
        ctypes.memset(block, 1, 4000)
    keep = blocks[-1]
    for block in blocks[:-1]:  # the last one stays: the heap's top cannot simply shrink
        libc.free(block)
    before = process.memory_info().rss
    assert release_freed_memory()
    after = process.memory_info().rss
    libc.free(keep)
    assert before - after > 100 * 2**20, (before // 2**20, after // 2**20)
