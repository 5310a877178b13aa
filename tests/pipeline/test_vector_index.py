from __future__ import annotations

import argparse
import dataclasses
import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from content_miner.common.account import AccountKey
from content_miner.common.layout import DataLayout
from content_miner.pipeline.cli import pipeline_settings
from content_miner.pipeline.embedding import load_embedder
from content_miner.pipeline.models import Post
from content_miner.pipeline.pipeline import AccountPipeline
from content_miner.pipeline.sample_account import generate_sample_posts
from content_miner.pipeline.vector_index import PostIndex, VectorIndexError, chroma_client

POSTS = generate_sample_posts(n_posts=60, seed=3)


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@pytest.fixture(scope="module")
def chroma_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    port = _free_port()
    chroma = Path(sys.executable).parent / "chroma"
    log = tmp_path_factory.mktemp("chroma-log") / "server.log"
    data = tmp_path_factory.mktemp("chroma-data")
    with log.open("wb") as sink:
        server = subprocess.Popen(
            [str(chroma), "run", "--path", str(data), "--host", "127.0.0.1", "--port", str(port)],
            stdout=sink, stderr=subprocess.STDOUT, cwd=data,  # anything it writes stays in tmp
            env={**os.environ, "ANONYMIZED_TELEMETRY": "False"},
        )
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                if httpx.get(f"{url}/api/v2/heartbeat", timeout=1).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            if server.poll() is not None or time.monotonic() > deadline:
                pytest.fail(f"chroma server did not start: {log.read_text()[-500:]}")
            time.sleep(0.2)
        yield url
    finally:
        server.terminate()
        try:
            server.wait(timeout=10)
        except subprocess.TimeoutExpired:
            server.kill()
            server.wait()


def _check_index_behaviour(index: PostIndex) -> None:
    first = index.index_posts("x", "alice", POSTS)
    assert first.embedded == len(POSTS) and first.reused == 0
    assert first.ids[0] == f"x:alice:{POSTS[0].id}"
    assert first.embeddings.shape == (len(POSTS), 384)
    again = index.index_posts("x", "alice", POSTS)
    assert again.embedded == 0 and again.reused == len(POSTS)
    assert index.count("x", "alice") == len(POSTS)

    index.index_posts("x", "bob", POSTS[:10])
    hits = index.similar("x", "alice", first.embeddings[5], k=4)
    assert hits[0].post_id == POSTS[5].id and hits[0].similarity > 0.99
    assert {h.post_id for h in hits} <= {p.id for p in POSTS}
    assert len(index.similar("x", "bob", first.embeddings[5], k=50)) == 10

    fewer = index.index_posts("x", "alice", POSTS[20:])  # 20 posts deleted at the source since
    assert (fewer.embedded, fewer.reused, fewer.removed) == (0, len(POSTS) - 20, 20)
    assert index.count("x", "alice") == len(POSTS) - 20 and index.count("x", "bob") == 10
    assert POSTS[5].id not in {h.post_id for h in index.similar("x", "alice", first.embeddings[5], k=50)}


def test_embedded_index_is_idempotent_and_filters_by_account(tmp_path: Path) -> None:
    _check_index_behaviour(PostIndex.open(tmp_path / "vector_index", chroma_url=""))
    assert (tmp_path / "vector_index").is_dir()


def test_server_index_behaves_like_the_embedded_one(chroma_server: str, tmp_path: Path) -> None:
    _check_index_behaviour(PostIndex.open(tmp_path / "vector_index", chroma_url=chroma_server))
    assert not (tmp_path / "vector_index").exists()


def test_chroma_url_comes_from_the_environment(chroma_server: str, tmp_path: Path) -> None:
    paths = DataLayout(tmp_path)
    settings = pipeline_settings(paths, argparse.Namespace(recommendations=15), {"CHROMA_URL": chroma_server})
    assert settings.chroma_url == chroma_server
    assert pipeline_settings(paths, argparse.Namespace(recommendations=15), {}).chroma_url is None
    result = AccountPipeline(settings)._index_posts(AccountKey("twitter", "carol"), POSTS[:5])
    assert len(result.ids) == 5
    assert PostIndex.open(tmp_path / "elsewhere", chroma_url=chroma_server).count("twitter", "carol") == 5
    assert not paths.vector_index.exists()


def test_edited_post_is_embedded_again(tmp_path: Path) -> None:
    index = PostIndex.open(tmp_path / "vector_index", chroma_url="")
    index.index_posts("x", "alice", POSTS[:8])
    edited = [*POSTS[:7], dataclasses.replace(POSTS[7], text="A completely different text now")]
    result = index.index_posts("x", "alice", edited)
    assert (result.embedded, result.reused) == (1, 7)


def test_writes_are_split_into_batches_the_store_accepts(tmp_path: Path) -> None:
    index = PostIndex.open(tmp_path / "vector_index", chroma_url="")
    assert index.batch_size == chroma_client(tmp_path, "").get_max_batch_size()
    index.batch_size = 7  # smaller than the post count, so several batches are needed
    index.index_posts("x", "dave", POSTS[:30])
    assert index.count("x", "dave") == 30


def test_unreachable_server_is_a_one_line_error(tmp_path: Path) -> None:
    with pytest.raises(VectorIndexError, match="cannot reach the Chroma server"):
        PostIndex.open(tmp_path / "vector_index", chroma_url=f"http://127.0.0.1:{_free_port()}")


def test_malformed_url_is_refused(tmp_path: Path) -> None:
    with pytest.raises(VectorIndexError, match="invalid Chroma URL"):
        PostIndex.open(tmp_path / "vector_index", chroma_url="localhost:8000")


def test_duplicate_post_ids_are_refused(tmp_path: Path) -> None:
    index = PostIndex.open(tmp_path / "vector_index", chroma_url="", embedder=load_embedder())
    twice: list[Post] = [POSTS[0], POSTS[0]]
    with pytest.raises(VectorIndexError, match="duplicate post ids"):
        index.index_posts("x", "erin", twice)


def test_a_rerun_reads_the_vector_cache_and_writes_nothing(tmp_path: Path) -> None:
    layout = DataLayout(tmp_path)
    index = PostIndex.open(layout.vector_index, chroma_url="", layout=layout)
    first = index.index_posts("twitter", "frank", POSTS)
    cache = layout.account_vectors(AccountKey("twitter", "frank"), index.name)
    assert cache.is_file() and first.embedded == len(POSTS)
    writes: list[int] = []
    real_upsert = index._collection.upsert
    index._collection.upsert = lambda **kw: writes.append(len(kw["ids"])) or real_upsert(**kw)  # type: ignore[method-assign]
    again = index.index_posts("twitter", "frank", POSTS)
    assert (again.embedded, again.reused, writes) == (0, len(POSTS), [])
    assert (again.embeddings == first.embeddings).all()
    edited = [*POSTS[:-1], dataclasses.replace(POSTS[-1], text="Now something else entirely")]
    assert index.index_posts("twitter", "frank", edited).embedded == 1 and writes == [1]


def test_the_vector_cache_is_not_trusted_when_the_index_lost_posts(tmp_path: Path) -> None:
    layout = DataLayout(tmp_path)
    index = PostIndex.open(layout.vector_index, chroma_url="", layout=layout)
    index.index_posts("twitter", "grace", POSTS[:10])
    index._collection.delete(ids=[f"twitter:grace:{POSTS[0].id}"])  # the index changed behind the cache's back
    result = index.index_posts("twitter", "grace", POSTS[:10])
    assert (result.embedded, result.reused) == (1, 9) and index.count("twitter", "grace") == 10
