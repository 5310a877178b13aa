"""Module 1's numeric files: written atomically, read back whole, and a damaged one is a ValueError."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from content_miner.common.account import AccountKey
from content_miner.common.layout import DataLayout
from content_miner.pipeline.npz_files import read_npz, write_npz
from content_miner.pipeline.sample_account import generate_sample_posts
from content_miner.pipeline.vector_index import PostIndex


def test_meta_and_arrays_come_back_as_written(tmp_path: Path) -> None:
    path = tmp_path / "f.npz"
    write_npz(path, {"format": 3, "name": "x"}, {"a": np.arange(5), "b": np.ones((2, 3), dtype=np.float32)})
    meta, arrays = read_npz(path)
    assert meta == {"format": 3, "name": "x"} and sorted(arrays) == ["a", "b"]
    assert (arrays["a"] == np.arange(5)).all() and arrays["b"].dtype == np.float32
    assert [p.name for p in tmp_path.iterdir()] == ["f.npz"]  # no temporary file left


@pytest.mark.parametrize("damage", ["empty", "truncated", "not an archive", "meta not an object", "pickled array"])
def test_a_damaged_file_is_a_value_error(tmp_path: Path, damage: str) -> None:
    path = tmp_path / "f.npz"
    write_npz(path, {"format": 1}, {"a": np.arange(1000)})
    if damage == "empty":
        path.write_bytes(b"")
    elif damage == "truncated":
        path.write_bytes(path.read_bytes()[:300])
    elif damage == "not an archive":
        path.write_bytes(b"PK\x03\x04 but nothing after")
    elif damage == "meta not an object":
        np.savez(path, meta=np.array("[1, 2]"))
    else:
        np.savez(path, meta=np.array("{}"), a=np.array([{"x": 1}], dtype=object))
    with pytest.raises(ValueError):
        read_npz(path)


def test_a_truncated_vector_cache_is_ignored_and_the_account_still_indexed(tmp_path: Path) -> None:
    layout = DataLayout(tmp_path)
    posts = generate_sample_posts(n_posts=20, seed=8)
    index = PostIndex.open(layout.vector_index, chroma_url="", layout=layout)
    index.index_posts("twitter", "kim", posts)
    cache = layout.account_vectors(AccountKey("twitter", "kim"), index.name)
    for damaged in (cache.read_bytes()[:200], b""):  # a damaged copy, an empty file: both used to fail Stage 3
        cache.write_bytes(damaged)
        again = index.index_posts("twitter", "kim", posts)
        assert (again.embedded, again.reused) == (0, 20)  # read back from the index instead
