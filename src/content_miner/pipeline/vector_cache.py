"""Each account's post vectors as Stage 3 last wrote them to the vector index, in one local file.

A re-run needs every post's vector, and asking Chroma for 10,000 of them takes seconds (and
upserting them all again took 30 s on a real account). This file, `DataLayout.account_vectors`,
holds the document ids, a hash of each post's text and its vector, as last written. Stage 3 takes
it for the index's content only while the index holds exactly the same ids for the account (one
cheap id listing), so an edited index is read back instead; a cached vector of a post the index
lost, with the same text, is written back instead of embedded again (the embedder is the same).
A plain `.npz` without pickled objects (`npz_files.py`).
"""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Final

import numpy as np

from content_miner.pipeline.npz_files import read_npz, write_npz

logger = logging.getLogger(__name__)

CACHE_FORMAT: Final = 1


def text_hash(text: str) -> bytes:
    return hashlib.blake2b(text.encode("utf-8", "surrogatepass"), digest_size=16).digest()


@dataclass(frozen=True)
class AccountVectors:
    embedder: str
    ids: tuple[str, ...]
    hashes: tuple[bytes, ...]  # text_hash of each post's text
    vectors: np.ndarray  # (n, dim) float32

    def by_id(self) -> dict[str, tuple[bytes, np.ndarray]]:
        """document id -> (text hash, vector)."""
        return {doc_id: (digest, self.vectors[row])
                for row, (doc_id, digest) in enumerate(zip(self.ids, self.hashes, strict=True))}


Known = dict[str, tuple[bytes, np.ndarray]]  # document id -> (text hash, vector)


def fill_known(vectors: np.ndarray, ids: Sequence[str], digests: Sequence[bytes], known: Known,
               rows: Sequence[int] | None = None) -> list[int]:
    """Copy into `vectors` the known vector of each row (of `rows`; all by default) whose text hash is
    the post's; returns the rows left without one."""
    left = []
    for row in range(len(ids)) if rows is None else rows:
        hit = known.get(ids[row])
        if hit is not None and hit[0] == digests[row] and hit[1].shape == vectors.shape[1:]:
            vectors[row] = hit[1]
        else:
            left.append(row)
    return left


def load_vectors(path: Path, embedder: str, dim: int) -> AccountVectors | None:
    """The cached vectors, or None when there are none, they are for another embedder, or unreadable."""
    try:
        meta, data = read_npz(path)
        if meta.get("format") != CACHE_FORMAT or meta.get("embedder") != embedder:
            return None
        vectors = np.asarray(data["vectors"], dtype=np.float32)
        ids = tuple(str(x) for x in data["ids"])
        hashes = tuple(row.tobytes() for row in np.asarray(data["hashes"], dtype=np.uint8))
    except FileNotFoundError:
        return None
    except (OSError, ValueError, KeyError, TypeError) as exc:
        logger.warning("Ignoring unreadable vector cache %s: %s", path, type(exc).__name__)
        return None
    if vectors.ndim != 2 or vectors.shape != (len(ids), dim) or len(hashes) != len(ids):
        logger.warning("Ignoring vector cache %s: its shape does not match", path)
        return None
    return AccountVectors(embedder, ids, hashes, vectors)


def save_vectors(path: Path, embedder: str, ids: Sequence[str], texts: Sequence[str], vectors: np.ndarray) -> None:
    """Write the account's vectors atomically (OSError if the file system refuses)."""
    write_npz(path, {"format": CACHE_FORMAT, "embedder": embedder},
              {"ids": np.array(list(ids), dtype=str),
               "hashes": np.frombuffer(b"".join(text_hash(t) for t in texts), dtype=np.uint8).reshape(len(texts), 16),
               "vectors": np.asarray(vectors, dtype=np.float32)})
