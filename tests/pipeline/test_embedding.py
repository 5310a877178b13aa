from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from content_miner.pipeline.embedding import (
    LEXICAL_NAME,
    MINILM_MODEL_SHA256,
    MINILM_NAME,
    Embedder,
    EmbeddingModelError,
    LexicalHashingEmbedder,
    MiniLMOnnxEmbedder,
    _checked,
    load_embedder,
)


@pytest.fixture(scope="module")
def minilm() -> Embedder:
    return load_embedder(MINILM_NAME)


def test_minilm_gives_normalised_float32_vectors(minilm: Embedder) -> None:
    vectors = minilm.embed(["first post", "a second, longer post about coffee grinders"])
    assert isinstance(minilm, Embedder)
    assert vectors.shape == (2, 384) and vectors.dtype == np.float32
    assert np.allclose(np.linalg.norm(vectors, axis=1), 1.0, atol=1e-5)


def test_minilm_matches_paraphrases_where_the_lexical_fallback_matches_words(minilm: Embedder) -> None:
    texts = [
        "How can I pull better espresso shots at home?",
        "Tips for brewing cafe-quality coffee in your own kitchen",
        "The home team pulled ahead with better shots at the end",
        "Interest rates rose again this quarter",
    ]
    query, paraphrase, same_words, unrelated = minilm.embed(texts)
    assert query @ paraphrase > query @ same_words > query @ unrelated
    lexical = LexicalHashingEmbedder().embed(texts)
    assert lexical[0] @ lexical[2] > lexical[0] @ lexical[1]


def test_minilm_vector_does_not_depend_on_its_batch(minilm: Embedder) -> None:
    texts = ["short", "a much longer text " * 20, "medium length post about running"]
    together = minilm.embed(texts)
    alone = np.vstack([minilm.embed([t]) for t in texts])
    assert np.allclose(together, alone, atol=1e-5)
    assert np.array_equal(minilm.embed(texts), together)


def _padded_batch(minilm: MiniLMOnnxEmbedder, texts: list[str]) -> np.ndarray:
    """The textbook computation: one batch padded to its longest text, the mean over the mask."""
    encodings = [minilm._tokenizer.encode(text) for text in texts]
    width = max(len(e.ids) for e in encodings)
    ids = np.array([e.ids + [0] * (width - len(e.ids)) for e in encodings], dtype=np.int64)
    mask = (np.arange(width) < np.array([[len(e.ids)] for e in encodings])).astype(np.int64)
    feed = {"input_ids": ids, "attention_mask": mask, "token_type_ids": np.zeros_like(ids)}
    hidden = minilm._session.run(["last_hidden_state"], feed)[0]
    pooled = (hidden * mask[..., None]).sum(axis=1) / mask.sum(axis=1, keepdims=True)
    return pooled / np.linalg.norm(pooled, axis=1, keepdims=True)


def test_minilm_one_text_at_a_time_equals_a_padded_batch_with_masked_mean(minilm: Embedder) -> None:
    """Texts of very different lengths, so the batch is mostly padding for the short ones."""
    texts = ["ok", "espresso dialled in at 18 g in, 36 g out", "a much longer text about trail running " * 12]
    assert isinstance(minilm, MiniLMOnnxEmbedder)
    assert np.allclose(minilm.embed(texts), _padded_batch(minilm, texts), atol=1e-5)


def test_empty_input_gives_empty_matrix(minilm: Embedder) -> None:
    assert minilm.embed([]).shape == (0, 384)


def test_embedder_is_loaded_once_per_process() -> None:
    assert load_embedder() is load_embedder(MINILM_NAME)


def test_changed_model_file_is_refused(tmp_path: Path) -> None:
    tampered = tmp_path / "model.onnx"
    tampered.write_bytes(b"not the model")
    with pytest.raises(EmbeddingModelError, match="sha256 mismatch"):
        _checked(tampered, MINILM_MODEL_SHA256)


def test_unknown_embedder_is_a_clear_error() -> None:
    with pytest.raises(EmbeddingModelError, match="unknown embedder 'bert-large'"):
        load_embedder("bert-large")


def test_lexical_fallback_is_labelled_and_normalised() -> None:
    fallback = LexicalHashingEmbedder()
    vectors = fallback.embed(["espresso grinder", "espresso grinders", "tax returns"])
    assert fallback.name == LEXICAL_NAME and "fallback" in fallback.name
    assert vectors.shape == (3, 1024)
    assert np.allclose(np.linalg.norm(vectors, axis=1), 1.0, atol=1e-5)
    assert vectors[0] @ vectors[1] > vectors[0] @ vectors[2]


INTERRUPTED_AS_A_WORKER_STARTS = """
import threading
from content_miner.pipeline.embedding import load_embedder
embedder = load_embedder()
real_start = threading.Thread.start

def start_then_interrupted(self):  # a stop signal handled the moment a worker thread has started
    real_start(self)
    threading.Thread.start = real_start
    raise KeyboardInterrupt

threading.Thread.start = start_then_interrupted
try:
    embedder.embed(["first text", "second text"])
except KeyboardInterrupt:
    print("interrupted")  # and the process ends, as Module 1 does on a stop
"""


def test_a_stop_signal_as_an_embedding_worker_starts_does_not_hold_the_process_at_exit() -> None:
    """ThreadPoolExecutor joins its workers at exit and tells them to stop only once registered; a signal
    handled between a worker's start and its registration left one that was never told: Module 1 hung in
    its exit (seen once, under load, after a SIGTERM during Stage 3)."""
    try:
        done = subprocess.run([sys.executable, "-c", INTERRUPTED_AS_A_WORKER_STARTS], capture_output=True, text=True,
                              timeout=60, env={**os.environ, "PYTHONDONTWRITEBYTECODE": "1"})
    except subprocess.TimeoutExpired:
        pytest.fail("the process did not exit: a worker thread holds it")
    assert done.returncode == 0, done.stderr[-2000:]
    assert done.stdout.strip() == "interrupted"


def test_the_embedder_works_again_after_an_interrupted_call(minilm: Embedder) -> None:
    try:
        with pytest.MonkeyPatch.context() as patch:
            patch.setattr(minilm, "_session", None)  # the next run fails at once, as an interrupted one would
            minilm.embed(["one", "two", "three"])
    except AttributeError:
        pass
    again = minilm.embed(["one", "two", "three"])
    assert again.shape == (3, 384) and np.allclose(np.linalg.norm(again, axis=1), 1.0, atol=1e-5)
