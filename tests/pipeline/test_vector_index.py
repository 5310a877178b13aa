from __future__ import annotations

import argparse
import dataclasses
import logging
import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from chromadb.api.models.Collection import Collection

from content_miner.common.account import AccountKey
from content_miner.common.layout import DataLayout
from content_miner.pipeline.cli import pipeline_settings
from content_miner.pipeline.embedding import load_embedder
from content_miner.pipeline.models import Post
from content_miner.pipeline.pipeline import AccountPipeline
from content_miner.pipeline.sample_account import generate_sample_posts
from content_miner.pipeline.vector_index import (
    PostIndex,
    VectorIndexError,
    account_collection_name,
    chroma_client,
    collection_name,
)

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


def _upserts(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """The number of posts in each write Chroma is asked for (Chroma's own method, observed)."""
    writes: list[int] = []
    real_upsert = Collection.upsert

    def upsert(self: Collection, **kw: Any) -> None:
        writes.append(len(kw["ids"]))
        real_upsert(self, **kw)

    monkeypatch.setattr(Collection, "upsert", upsert)
    return writes


def test_a_rerun_reads_the_vector_cache_and_writes_nothing(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    layout = DataLayout(tmp_path)
    index = PostIndex.open(layout.vector_index, chroma_url="", layout=layout)
    first = index.index_posts("twitter", "frank", POSTS)
    cache = layout.account_vectors(AccountKey("twitter", "frank"), index.name)
    assert cache.is_file() and first.embedded == len(POSTS)
    writes = _upserts(monkeypatch)
    again = index.index_posts("twitter", "frank", POSTS)
    assert (again.embedded, again.reused, writes) == (0, len(POSTS), [])
    assert (again.embeddings == first.embeddings).all()
    edited = [*POSTS[:-1], dataclasses.replace(POSTS[-1], text="Now something else entirely")]
    assert index.index_posts("twitter", "frank", edited).embedded == 1 and writes == [1]


def _account_collection(layout: DataLayout, platform: str, username: str) -> tuple[Any, Any]:
    client = chroma_client(layout.vector_index, None)
    return client, client.get_collection(account_collection_name(load_embedder(), platform, username))


def test_posts_the_index_lost_are_written_back_from_the_cache_unless_their_text_changed(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    layout = DataLayout(tmp_path)
    index = PostIndex.open(layout.vector_index, chroma_url="", layout=layout)
    first = index.index_posts("twitter", "grace", POSTS[:10])
    client, collection = _account_collection(layout, "twitter", "grace")
    collection.delete(ids=[f"twitter:grace:{POSTS[0].id}", f"twitter:grace:{POSTS[1].id}"])  # behind the cache's back
    client.close()
    writes = _upserts(monkeypatch)
    edited = [POSTS[0], dataclasses.replace(POSTS[1], text="A text the cache has never seen"), *POSTS[2:10]]
    result = index.index_posts("twitter", "grace", edited)
    assert (result.embedded, result.reused, writes) == (1, 9, [2])  # one embedded, both lost ones written
    assert (result.embeddings[0] == first.embeddings[0]).all() and index.count("twitter", "grace") == 10


def test_the_embedded_index_keeps_each_account_in_its_own_collection(tmp_path: Path) -> None:
    layout = DataLayout(tmp_path)
    index = PostIndex.open(layout.vector_index, chroma_url="", layout=layout)
    index.index_posts("twitter", "_heidi_", POSTS[:6])
    index.index_posts("twitter", "ivan", POSTS[:4])
    client = chroma_client(layout.vector_index, None)
    try:
        stored = {c.name: (c.metadata["username"], c.count()) for c in client.list_collections()}
    finally:
        client.close()
    assert sorted(stored.values()) == [("_heidi_", 6), ("ivan", 4)]
    assert all(name.startswith("acct-") for name in stored)


def test_an_earlier_shared_collection_is_dropped_and_its_accounts_come_back_without_embedding(
        tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    layout = DataLayout(tmp_path)
    embedder = load_embedder()
    PostIndex.open(layout.vector_index, chroma_url="", layout=layout).index_posts("twitter", "judy", POSTS[:12])
    # What an earlier version left: one collection for every account, and no collection per account.
    client = chroma_client(layout.vector_index, None)
    client.delete_collection(account_collection_name(embedder, "twitter", "judy"))
    shared = client.create_collection(collection_name(embedder), embedding_function=None)
    texts = [p.text for p in POSTS[:12]]
    shared.add(ids=[f"twitter:judy:{p.id}" for p in POSTS[:12]], embeddings=embedder.embed(texts),
               metadatas=[{"platform": "twitter", "username": "judy"}] * 12)
    client.close()
    with caplog.at_level(logging.INFO, logger="content_miner.pipeline.vector_index"):
        index = PostIndex.open(layout.vector_index, chroma_url="", layout=layout)
    assert [r.getMessage() for r in caplog.records if "shared collection (12 posts) was removed" in r.getMessage()]
    result = index.index_posts("twitter", "judy", POSTS[:12])
    assert (result.embedded, result.reused) == (0, 12) and index.count("twitter", "judy") == 12
    client = chroma_client(layout.vector_index, None)
    try:
        assert [c.name for c in client.list_collections()] == [account_collection_name(embedder, "twitter", "judy")]
    finally:
        client.close()


MEMORY_PROBE = """
import sys, psutil
from content_miner.pipeline.embedding import LEXICAL_NAME, load_embedder
from content_miner.pipeline.sample_account import generate_sample_posts
from content_miner.pipeline.vector_index import PostIndex
index = PostIndex.open(sys.argv[1], chroma_url="", embedder=load_embedder(LEXICAL_NAME))
posts = generate_sample_posts(n_posts=40, seed=5)
rss = []
for n in range(int(sys.argv[2])):
    index.index_posts("twitter", f"user{n:04d}", posts)
    rss.append(psutil.Process().memory_info().rss)
print(rss[19], rss[-1])
"""


def test_the_embedded_index_holds_one_account_at_a_time_in_memory(tmp_path: Path) -> None:
    """Chroma keeps every collection it touched in memory while its client is open (2.6 MB each,
    measured): 100 accounts would add about 200 MB after the first 20. Closed after each account, no
    account's graph stays."""
    run = subprocess.run([sys.executable, "-c", MEMORY_PROBE, str(tmp_path / "vector_index"), "100"],
                         capture_output=True, text=True, timeout=600,
                         env={**os.environ, "PYTHONDONTWRITEBYTECODE": "1"})
    assert run.returncode == 0, run.stderr[-2000:]
    after_20, after_100 = (int(x) for x in run.stdout.split())
    assert after_100 - after_20 < 60 * 2**20, ((after_20 >> 20), (after_100 >> 20))
