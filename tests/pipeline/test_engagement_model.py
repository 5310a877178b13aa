"""The account's engagement model: fitted on the past, it ranks later posts and its 50 % interval
holds about half of them; saved without pickle, it predicts the same after loading."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest

from content_miner.pipeline.embedding import LEXICAL_NAME, load_embedder
from content_miner.pipeline.engagement import formula_for
from content_miner.pipeline.engagement_model import (
    ModelFileError,
    causal_level,
    fit_engagement_model,
    load_model,
    spearman,
)
from content_miner.pipeline.sample_account import generate_sample_posts

POSTS = generate_sample_posts(seed=12, n_posts=900, days=180, boosted_topic="espresso", boost=2.0,
                              reply_share=0.3, reply_factor=0.25, media_share=0.2, media_factor=2.5)
VECTORS = load_embedder(LEXICAL_NAME).embed([p.text for p in POSTS])
VALUES = formula_for(POSTS).of(POSTS)
CUT = 720


@pytest.fixture(scope="module")
def model():  # type: ignore[no-untyped-def]
    return fit_engagement_model(POSTS[:CUT], VECTORS[:CUT], VALUES[:CUT])


def test_it_ranks_later_posts_and_half_of_them_fall_in_the_50_percent_interval(model) -> None:  # type: ignore[no-untyped-def]
    prediction = model.predict(POSTS[CUT:], VECTORS[CUT:])
    actual = VALUES[CUT:]
    assert spearman(prediction.log_mean, np.log1p(actual)) > 0.5
    inside = float(np.mean((actual >= prediction.low) & (actual <= prediction.high)))
    assert 0.4 <= inside <= 0.6
    assert np.all(prediction.low <= prediction.median) and np.all(prediction.median <= prediction.high)
    assert np.all(prediction.low == np.round(prediction.low))  # whole engagement counts


def test_formats_move_the_prediction_the_planted_way(model) -> None:  # type: ignore[no-untyped-def]
    original = replace(POSTS[-1], is_reply=False, has_media=None, text="Espresso notes from this morning")
    variants = [original, replace(original, is_reply=True, text="@maya_builds " + original.text),
                replace(original, has_media=True)]
    vectors = load_embedder(LEXICAL_NAME).embed([p.text for p in variants])
    plain, reply, media = model.predict(variants, vectors).log_mean
    assert reply < plain < media


def test_saved_model_predicts_the_same_without_pickle(model, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    path = tmp_path / "engagement_model.npz"
    model.save(path, fingerprint="abc", embedder=LEXICAL_NAME)
    saved = load_model(path)  # np.load with allow_pickle=False inside
    assert (saved.fingerprint, saved.embedder) == ("abc", LEXICAL_NAME)
    before = model.predict(POSTS[CUT:], VECTORS[CUT:])
    after = saved.model.predict(POSTS[CUT:], VECTORS[CUT:])
    assert np.allclose(before.log_mean, after.log_mean, atol=1e-5)
    assert np.array_equal(before.low, after.low) and np.array_equal(before.high, after.high)


def test_a_missing_or_damaged_model_file_is_a_one_line_error(tmp_path: Path) -> None:
    with pytest.raises(ModelFileError, match="no saved model"):
        load_model(tmp_path / "missing.npz")
    (tmp_path / "bad.npz").write_bytes(b"not a model")
    with pytest.raises(ModelFileError, match="cannot be read"):
        load_model(tmp_path / "bad.npz")


def test_a_handful_of_posts_gets_the_level_alone() -> None:
    few = POSTS[:12]
    model = fit_engagement_model(few, VECTORS[:12], VALUES[:12])
    assert model.kind == "level"
    prediction = model.predict(POSTS[12:14], VECTORS[12:14])
    assert np.all(prediction.low <= prediction.high)


def test_the_level_is_the_median_of_the_previous_posts() -> None:
    y = np.arange(60, dtype=float)
    level = causal_level(y, window=50)
    assert level[0] == 0 and level[1] == 0 and level[10] == np.median(y[:10]) and level[59] == np.median(y[9:59])
