"""Stage 3, Vector Database: embed posts and keep them in Chroma, searchable per account.

Vectors of different embedders never mix. Document ids are `<platform>:<username>:<post_id>`.
Only new or edited posts are embedded and written (upserts); posts already stored with the same
text are left alone (re-writing 10,000 unchanged posts took Chroma 90 s), and posts the account no
longer has are deleted. Metadata holds what never changes for a post (account, id, time,
hashtags), so changed counts cost no write.

Chroma runs embedded (`PersistentClient` under `<data_dir>/vector_index`) or, when a URL is
configured (`CHROMA_URL=http://127.0.0.1:8000`, read by the entry point), as a server: one
PersistentClient directory belongs to one process, so several processes share an index through
`chroma run`. The two keep posts differently, each for the memory of the process holding the index:
- embedded: one collection per account (`account_collection_name`), and the client is closed after
  every operation, so Module 1 holds one account's graph at a time, whatever the number of
  accounts. A Chroma process keeps every collection it touched in memory until it closes (about
  2.6 MB each, measured), and one shared collection is held whole (about 2 KB per post). An index
  written by an earlier version as one shared collection is dropped once; its vectors come back
  from the vector cache without embedding again.
- server: one collection per embedder (`collection_name`), accounts told apart by `platform` and
  `username` metadata. A server keeps what it touched, and per-account collections cost it four
  times the memory of one shared collection (measured over 300 accounts).

With the data directory's layout (`vector_cache.py`, the pipeline passes it), stored vectors are
read from the account's local file while the index holds exactly the ids the file lists (one
id-only query); otherwise they are read back from the index. A cached vector of a post whose text
is unchanged is reused even when the index lost the post (it is written back, not embedded).
"""

from __future__ import annotations

import hashlib
import logging
import re
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import numpy as np

from content_miner.common.account import AccountKey, InvalidAccount
from content_miner.common.layout import DataLayout
from content_miner.pipeline.embedding import Embedder, load_embedder
from content_miner.pipeline.models import Post
from content_miner.pipeline.progress import report
from content_miner.pipeline.vector_cache import Known, fill_known, load_vectors, save_vectors, text_hash

logger = logging.getLogger(__name__)

EMBED_BATCH = 64  # texts per embedder call: the stage's progress moves every batch


class VectorIndexError(RuntimeError):
    """The vector store cannot be reached or refused an operation."""


@dataclass(frozen=True)
class IndexedPosts:
    """Stage 3's output: every post's document id and vector, aligned with the input posts."""

    ids: tuple[str, ...]
    embeddings: np.ndarray  # (n, dim) float32, L2-normalised
    embedded: int  # posts embedded in this run (new or edited)
    reused: int  # posts whose stored vector was reused
    collection: str
    removed: int = 0  # stored posts of the account that this run no longer has (deleted, or past max_posts)
    embed_seconds: float = 0.0  # time spent inside the embedder (the rest of Stage 3 is the index's)


@dataclass(frozen=True)
class SimilarPost:
    post_id: str
    text: str
    similarity: float  # cosine


def chroma_client(index_dir: Path, chroma_url: str | None) -> Any:
    """An HTTP client when `chroma_url` is set, else an embedded one under the data directory."""
    import chromadb
    from chromadb.config import Settings

    settings = Settings(anonymized_telemetry=False)
    if chroma_url:
        parts = urlsplit(chroma_url)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise VectorIndexError(f"invalid Chroma URL {chroma_url!r}: expected http(s)://host:port")
        try:
            client = chromadb.HttpClient(
                host=parts.hostname,
                port=parts.port or (443 if parts.scheme == "https" else 8000),
                ssl=parts.scheme == "https",
                settings=settings,
            )
            client.heartbeat()
        except Exception as exc:  # chromadb raises ValueError, httpx errors and its own types
            raise VectorIndexError(f"cannot reach the Chroma server at {chroma_url}: {exc}") from exc
        return client
    path = Path(index_dir)
    try:
        path.mkdir(parents=True, exist_ok=True)
        return chromadb.PersistentClient(path=str(path), settings=settings)
    except Exception as exc:
        raise VectorIndexError(f"cannot open the vector index at {path}: {exc}") from exc


def collection_name(embedder: Embedder) -> str:
    """The embedder's name as Chroma allows it: the server's shared collection and the vector cache's folder."""
    return "posts-" + re.sub(r"[^A-Za-z0-9._-]", "-", embedder.name)


def account_collection_name(embedder: Embedder, platform: str, username: str) -> str:
    """The embedded index's collection of one account's posts for one embedder. A digest: Chroma names
    are 3-63 characters, and usernames run to 100 characters and may start or end with `_` or `.`."""
    digest = hashlib.blake2b(f"{embedder.name}\0{platform}\0{username}".encode(), digest_size=16).hexdigest()
    return f"acct-{digest}"


def document_id(platform: str, username: str, post_id: str) -> str:
    return f"{platform}:{username}:{post_id}"


def _metadata(platform: str, username: str, post: Post) -> dict[str, str | int | float]:
    return {
        "platform": platform,
        "username": username,
        "post_id": post.id,
        "created_at": post.created_at.isoformat(),
        "created_ts": int(post.created_at.timestamp()),
        "hashtags": ",".join(post.hashtags),
    }


@dataclass(frozen=True)
class _Scope:
    """Where one account's posts are: its collection, and the filter within it (None: the whole collection)."""

    collection: Any
    where: dict[str, Any] | None


class PostIndex:
    """Posts of many accounts in Chroma: one collection per account embedded, one shared on a server."""

    def __init__(self, connect: Callable[[], Any], embedder: Embedder, *, per_account: bool) -> None:
        self._connect = connect
        self._embedder = embedder
        self.per_account = per_account
        self.name = collection_name(embedder)
        self._client: Any = None
        self._shared: Any = None
        try:
            client = self._open_client()
            self.batch_size = int(client.get_max_batch_size())
            if per_account:
                self._drop_shared_collection(client)
            else:
                self._shared = self._collection(client, self.name, {})
        except VectorIndexError:
            raise
        except Exception as exc:
            self.close()
            raise VectorIndexError(f"cannot open collection {self.name}: {exc}") from exc

    def _open_client(self) -> Any:
        if self._client is None:
            self._client = self._connect()
        return self._client

    def _collection(self, client: Any, name: str, metadata: dict[str, str]) -> Any:
        return client.get_or_create_collection(
            name,
            embedding_function=None,  # Chroma's default would download a model
            configuration={"hnsw": {"space": "cosine"}},
            metadata={"embedder": self._embedder.name, "dim": self._embedder.dim, **metadata},
        )

    def _drop_shared_collection(self, client: Any) -> None:
        """An embedded index of an earlier version kept every account in one collection: drop it once."""
        from chromadb.errors import NotFoundError

        try:
            stored = client.get_collection(self.name).count()
        except NotFoundError:
            return
        client.delete_collection(self.name)
        logger.info("Vector index: moved to one collection per account; the earlier shared collection (%d posts) "
                    "was removed, its vectors come back from the vector cache as each account runs again", stored)

    @contextmanager
    def _scope(self, platform: str, username: str) -> Iterator[_Scope]:
        """The account's collection for one operation. Embedded, the client is closed afterwards, so
        Chroma lets go of the account's graph (only one account's is ever held)."""
        if not self.per_account:
            yield _Scope(self._shared, _account(platform, username))
            return
        try:
            name = account_collection_name(self._embedder, platform, username)
            collection = self._collection(self._open_client(), name, {"platform": platform, "username": username})
            yield _Scope(collection, None)
        finally:
            self.close()

    def close(self) -> None:
        """Let go of the client and, for the embedded store, of Chroma's engine for this directory,
        so opening it again starts afresh (Chroma keeps one engine per path while a client is open).
        Embedded, the next operation opens it again."""
        client, self._client = self._client, None
        close = getattr(client, "close", None)
        try:
            if callable(close):
                close()
        except Exception as exc:  # closing a client that just failed may fail too: it is dropped anyway
            logger.debug("closing the vector index client: %r", exc)

    @classmethod
    def open(cls, index_dir: Path, *, chroma_url: str | None = None, embedder: Embedder | None = None,
             layout: DataLayout | None = None) -> PostIndex:
        """The server's index when `chroma_url` is set, else the embedded one in `index_dir`.
        With the data directory's layout, re-runs read stored vectors from its vector cache."""
        index = cls(lambda: chroma_client(index_dir, chroma_url), embedder or load_embedder(),
                    per_account=not chroma_url)
        index.layout = layout
        return index

    layout: DataLayout | None = None

    def _stored(self, scope: _Scope, ids: list[str]) -> Known:
        found: Known = {}
        for start in range(0, len(ids), self.batch_size):
            got = scope.collection.get(ids=ids[start : start + self.batch_size], include=["documents", "embeddings"])
            for doc_id, text, vector in zip(got["ids"], got["documents"], got["embeddings"], strict=True):
                found[doc_id] = (text_hash(text or ""), np.asarray(vector, dtype=np.float32))
        return found

    def _cache_path(self, platform: str, username: str) -> Path | None:
        if self.layout is None:
            return None
        try:
            return self.layout.account_vectors(AccountKey.parse(platform, username), self.name)
        except InvalidAccount:
            return None

    def _known(self, scope: _Scope, platform: str, username: str, stored_ids: set[str]) -> tuple[Known, Known]:
        """What the index holds for the account, and the cached vectors of posts it does not hold
        (valid for the same text: the embedder is the same)."""
        path = self._cache_path(platform, username)
        cached = load_vectors(path, self._embedder.name, self._embedder.dim) if path is not None else None
        from_cache = cached.by_id() if cached is not None else {}
        if cached is not None and set(cached.ids) == stored_ids:
            return from_cache, {}
        if cached is not None:
            logger.debug("vector cache of %s:%s does not match the index: reading the index", platform, username)
        held = self._stored(scope, sorted(stored_ids))
        return held, {doc_id: hit for doc_id, hit in from_cache.items() if doc_id not in held}

    def index_posts(self, platform: str, username: str, posts: Sequence[Post]) -> IndexedPosts:
        """Write `posts` of one account; embed only posts not already stored with the same text."""
        if not platform or not username:
            raise VectorIndexError("platform and username are required to index posts")
        ids = [document_id(platform, username, p.id) for p in posts]
        if len(set(ids)) != len(ids):
            raise VectorIndexError(f"duplicate post ids for {platform}:{username}")
        dim = self._embedder.dim
        try:
            with self._scope(platform, username) as scope:
                stored_ids = set(scope.collection.get(where=scope.where, include=[])["ids"])
                held, spare = self._known(scope, platform, username, stored_ids)
                vectors = np.zeros((len(posts), dim), dtype=np.float32)
                digests = [text_hash(post.text) for post in posts]
                unwritten = fill_known(vectors, ids, digests, held)  # rows the index does not hold as they are
                missing = fill_known(vectors, ids, digests, spare, unwritten)  # of those, rows to embed first
                embed_seconds = self._embed(posts, missing, vectors)
                self._write(scope, platform, username, posts, ids, unwritten, vectors[unwritten])
                stale = sorted(stored_ids - set(ids))
                for start in range(0, len(stale), self.batch_size):
                    scope.collection.delete(ids=stale[start : start + self.batch_size])
        except VectorIndexError:
            raise
        except Exception as exc:
            raise VectorIndexError(f"indexing {platform}:{username} failed: {exc}") from exc
        path = self._cache_path(platform, username)
        if path is not None:
            try:
                save_vectors(path, self._embedder.name, ids, [p.text for p in posts], vectors)
            except OSError as exc:  # the index is written; a missing cache costs the next run a read
                logger.warning("Could not write the vector cache %s: %s", path, exc)
        logger.debug("indexed %d posts of %s:%s (%d embedded, %d written from the cache, %d removed)", len(posts),
                     platform, username, len(missing), len(unwritten) - len(missing), len(stale))
        return IndexedPosts(tuple(ids), vectors, len(missing), len(posts) - len(missing), self.name, len(stale),
                            embed_seconds)

    def _embed(self, posts: Sequence[Post], missing: list[int], vectors: np.ndarray) -> float:
        """Embed the `missing` rows into `vectors`. Returns the seconds spent embedding.

        The index is written after, not overlapped: on two cores both are CPU-bound, and a writer
        thread running beside the embedder only slowed it down by as much as it wrote (measured on
        10,000 posts), while making the embedder's share of the stage impossible to tell apart."""
        if not missing:
            return 0.0
        began = time.perf_counter()
        # In batches, so the stage's progress moves (the embedder runs text by text anyway).
        report(0, len(missing))
        for start in range(0, len(missing), EMBED_BATCH):
            rows = missing[start : start + EMBED_BATCH]
            vectors[rows] = self._embedder.embed([posts[row].text for row in rows])
            report(start + len(rows), len(missing))
        return time.perf_counter() - began

    def _write(self, scope: _Scope, platform: str, username: str, posts: Sequence[Post], ids: list[str],
               rows: list[int], chunk: np.ndarray) -> None:
        for start in range(0, len(rows), self.batch_size):
            part = rows[start : start + self.batch_size]
            scope.collection.upsert(
                ids=[ids[row] for row in part],
                embeddings=chunk[start : start + self.batch_size],
                documents=[posts[row].text for row in part],
                metadatas=[_metadata(platform, username, posts[row]) for row in part],
            )

    def count(self, platform: str, username: str) -> int:
        with self._scope(platform, username) as scope:
            return len(scope.collection.get(where=scope.where, include=[])["ids"])

    def similar(
        self, platform: str, username: str, vector: np.ndarray, *, k: int = 5
    ) -> list[SimilarPost]:
        """The account's `k` posts closest to `vector` (cosine), closest first."""
        try:
            with self._scope(platform, username) as scope:
                got = scope.collection.query(
                    query_embeddings=[np.asarray(vector, dtype=np.float32)],
                    n_results=k,
                    where=scope.where,
                    include=["documents", "metadatas", "distances"],
                )
        except Exception as exc:
            raise VectorIndexError(f"query on {platform}:{username} failed: {exc}") from exc
        return [
            SimilarPost(str(meta["post_id"]), text, 1.0 - float(distance))
            for meta, text, distance in zip(
                got["metadatas"][0], got["documents"][0], got["distances"][0], strict=True
            )
        ]


def _account(platform: str, username: str) -> dict[str, Any]:
    return {"$and": [{"platform": platform}, {"username": username}]}
