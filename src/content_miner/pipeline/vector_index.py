"""Stage 3, Vector Database: embed posts and keep them in Chroma, searchable per account.

One collection per embedder (vectors of different models must never mix), every account in it,
told apart by `platform` and `username` metadata. Document ids are `<platform>:<username>:<post_id>`
and writes are upserts, so re-running an account updates it in place. A post whose text is
already stored keeps its stored vector: re-runs embed only new or edited posts.

Chroma runs embedded (`PersistentClient` under `<data_dir>/vector_index`) or, when a URL is
configured (`CHROMA_URL=http://127.0.0.1:8000`, read by the entry point), as a server: one PersistentClient directory
belongs to one process, so several processes share an index through `chroma run`.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import numpy as np

from content_miner.pipeline.embedding import Embedder, load_embedder
from content_miner.pipeline.engagement import engagement
from content_miner.pipeline.models import Post

logger = logging.getLogger(__name__)



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
    return "posts-" + re.sub(r"[^A-Za-z0-9._-]", "-", embedder.name)


def document_id(platform: str, username: str, post_id: str) -> str:
    return f"{platform}:{username}:{post_id}"


def _metadata(platform: str, username: str, post: Post) -> dict[str, str | int | float]:
    return {
        "platform": platform,
        "username": username,
        "post_id": post.id,
        "created_at": post.created_at.isoformat(),
        "created_ts": int(post.created_at.timestamp()),
        "likes": post.likes,
        "reposts": post.reposts,
        "replies": post.replies,
        "engagement": engagement(post),
        "hashtags": ",".join(post.hashtags),
    }


class PostIndex:
    """Posts of many accounts in one Chroma collection (embedded or server)."""

    def __init__(self, client: Any, embedder: Embedder) -> None:
        self._client = client
        self._embedder = embedder
        self.name = collection_name(embedder)
        try:
            self._collection = client.get_or_create_collection(
                self.name,
                embedding_function=None,  # Chroma's default would download a model
                configuration={"hnsw": {"space": "cosine"}},
                metadata={"embedder": embedder.name, "dim": embedder.dim},
            )
            self.batch_size = int(client.get_max_batch_size())
        except Exception as exc:
            raise VectorIndexError(f"cannot open collection {self.name}: {exc}") from exc

    def close(self) -> None:
        """Let go of the client and, for the embedded store, of Chroma's engine for this directory,
        so opening it again starts afresh (Chroma keeps one engine per path for the whole process)."""
        close = getattr(self._client, "close", None)
        try:
            if callable(close):
                close()
        except Exception as exc:  # closing a client that just failed may fail too: it is dropped anyway
            logger.debug("closing the vector index client: %r", exc)

    @classmethod
    def open(cls, index_dir: Path, *, chroma_url: str | None = None, embedder: Embedder | None = None) -> PostIndex:
        """The server's index when `chroma_url` is set, else the embedded one in `index_dir`."""
        return cls(chroma_client(index_dir, chroma_url), embedder or load_embedder())

    def _stored(self, ids: list[str]) -> dict[str, tuple[str, np.ndarray]]:
        found: dict[str, tuple[str, np.ndarray]] = {}
        for start in range(0, len(ids), self.batch_size):
            got = self._collection.get(
                ids=ids[start : start + self.batch_size], include=["documents", "embeddings"]
            )
            for doc_id, text, vector in zip(got["ids"], got["documents"], got["embeddings"], strict=True):
                found[doc_id] = (text, np.asarray(vector, dtype=np.float32))
        return found

    def index_posts(self, platform: str, username: str, posts: Sequence[Post]) -> IndexedPosts:
        """Upsert `posts` of one account; embed only posts not already stored with the same text."""
        if not platform or not username:
            raise VectorIndexError("platform and username are required to index posts")
        ids = [document_id(platform, username, p.id) for p in posts]
        if len(set(ids)) != len(ids):
            raise VectorIndexError(f"duplicate post ids for {platform}:{username}")
        try:
            stored = self._stored(ids)
            vectors = np.zeros((len(posts), self._embedder.dim), dtype=np.float32)
            missing = []
            for row, (doc_id, post) in enumerate(zip(ids, posts, strict=True)):
                hit = stored.get(doc_id)
                if hit is not None and hit[0] == post.text and hit[1].shape == (self._embedder.dim,):
                    vectors[row] = hit[1]
                else:
                    missing.append(row)
            if missing:
                vectors[missing] = self._embedder.embed([posts[row].text for row in missing])
            # Counts change between scrapes even when the text does not: upsert every post.
            for start in range(0, len(posts), self.batch_size):
                chunk = slice(start, start + self.batch_size)
                self._collection.upsert(
                    ids=ids[chunk],
                    embeddings=vectors[chunk],
                    documents=[p.text for p in posts[chunk]],
                    metadatas=[_metadata(platform, username, p) for p in posts[chunk]],
                )
            removed = self._remove_all_but(platform, username, set(ids))
        except VectorIndexError:
            raise
        except Exception as exc:
            raise VectorIndexError(f"indexing {platform}:{username} failed: {exc}") from exc
        logger.debug("indexed %d posts of %s:%s (%d embedded, %d removed)", len(posts), platform, username,
                     len(missing), removed)
        return IndexedPosts(tuple(ids), vectors, len(missing), len(posts) - len(missing), self.name, removed)

    def _remove_all_but(self, platform: str, username: str, keep: set[str]) -> int:
        """The index holds what the account's plan is built from: posts gone from this run (deleted
        at the source, or beyond max_posts) are removed, so they are never cited as evidence."""
        stored = self._collection.get(where=_account(platform, username), include=[])["ids"]
        stale = [doc_id for doc_id in stored if doc_id not in keep]
        for start in range(0, len(stale), self.batch_size):
            self._collection.delete(ids=stale[start : start + self.batch_size])
        return len(stale)

    def count(self, platform: str, username: str) -> int:
        got = self._collection.get(where=_account(platform, username), include=[])
        return len(got["ids"])

    def similar(
        self, platform: str, username: str, vector: np.ndarray, *, k: int = 5
    ) -> list[SimilarPost]:
        """The account's `k` posts closest to `vector` (cosine), closest first."""
        try:
            got = self._collection.query(
                query_embeddings=[np.asarray(vector, dtype=np.float32)],
                n_results=k,
                where=_account(platform, username),
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
