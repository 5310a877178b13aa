"""The built-in back-test finds each planted effect on a generated account and none on a control.

One account carries everything at once (a winning hour, a winning subject, replies that do badly,
and a dormant stretch just before the split); the control has none of them. Both are embedded
with the lexical embedder: the sample's subjects differ in wording, and it is 100x faster.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta

import numpy as np
import pytest

from content_miner.pipeline.backtest import BacktestError, nearest_neighbour_baseline, run_backtest
from content_miner.pipeline.backtest_report import BacktestReport
from content_miner.pipeline.embedding import LEXICAL_NAME, load_embedder
from content_miner.pipeline.models import Post
from content_miner.pipeline.sample_account import generate_sample_posts
from content_miner.pipeline.sample_topics import SAMPLE_TOPICS
from content_miner.pipeline.slots import NO_EFFECT

HOUR, TOPIC = 3, "python-tooling"


def _renumbered(posts: list[Post], offset: int) -> list[Post]:
    return [replace(p, id=str(int(p.id) + offset)) for p in posts]


def _planted() -> list[Post]:
    """1,500 posts over 200 days with the planted effects, three posts in the next 31 weeks (a
    dormant stretch that ends the past), then 300 posts over 50 days (the future)."""
    effects = dict(boosted_hour=HOUR, boosted_topic=TOPIC, boost=3.0, reply_share=0.3, reply_factor=0.2,
                   time_rhythm=False)
    dense = generate_sample_posts(seed=41, n_posts=1500, days=200, **effects)  # type: ignore[arg-type]
    start = dense[-1].created_at
    sparse = [replace(p, created_at=start + timedelta(weeks=week))
              for p, week in zip(_renumbered(dense[:3], 10**9), (13, 25, 31), strict=True)]
    future = generate_sample_posts(seed=42, n_posts=375, days=50, start=start + timedelta(weeks=31, days=1),
                                   **effects)  # type: ignore[arg-type]
    return dense + sparse + _renumbered(future, 2 * 10**9)


def _control() -> list[Post]:
    flat = [replace(t, appeal=1.0) for t in SAMPLE_TOPICS]
    return generate_sample_posts(seed=43, n_posts=1500, days=250, topics=flat, time_rhythm=False, reply_share=0.3,
                                 media_share=0.2)  # replies and images that make no difference


def _report(posts: list[Post]) -> BacktestReport:
    vectors = load_embedder(LEXICAL_NAME).embed([p.text for p in posts])
    return run_backtest(posts, vectors, platform="twitter", username="planted", holdout=0.2, embedder=LEXICAL_NAME)


@pytest.fixture(scope="module")
def planted() -> BacktestReport:
    return _report(_planted())


@pytest.fixture(scope="module")
def control() -> BacktestReport:
    return _report(_control())


def test_planted_slot_is_claimed_and_holds_on_future_posts(planted: BacktestReport) -> None:
    slots = planted.slots
    assert slots.claimed and slots.claimed_slots is not None
    assert all(label.endswith(f"{HOUR:02d}:00") for label in slots.claimed_slots.slots)
    assert slots.claimed_slots.beats_random and slots.supported
    assert slots.best_raw_mean is not None  # the raw-mean baseline is always reported


def test_planted_topic_and_format_carry_the_content_ranking(planted: BacktestReport) -> None:
    ranking = planted.content_ranking
    assert ranking.model.value is not None and ranking.model.value > 0.4
    assert ranking.at_least_as_good and (ranking.model_minus_neighbours.low or 0) > 0
    assert planted.topics.predictive and planted.topics.label_problems == []
    assert (planted.topics.recommended_auc or 0) > 0.6
    replies = next(f for f in planted.formats if f.flag == "is_reply")
    assert replies.claimed and replies.sign_held and (replies.future_ratio or 1) < 0.5
    assert planted.intervals.on_target


def test_planted_dormant_stretch_is_called_dormant(planted: BacktestReport) -> None:
    assert planted.recency.status == "dormant" and planted.recency.trend == "not enough data"


def test_control_without_effects_claims_nothing(control: BacktestReport) -> None:
    assert not control.slots.claimed and control.slots.message == NO_EFFECT and control.slots.supported
    assert not any(f.claimed for f in control.formats)
    assert {f.flag for f in control.formats if f.past_ratio is not None} == {"is_reply", "has_media"}  # measured
    assert not control.topics.predictive
    assert control.recency.status == "active"
    assert control.intervals.on_target


def test_report_round_trips_and_prints_one_row_per_check(planted: BacktestReport) -> None:
    assert BacktestReport.model_validate_json(planted.model_dump_json()) == planted
    table = planted.table()
    assert "| content ranking (model), Spearman |" in table and "NN-20" in table
    assert "claimed slots" in table and "original vs reply, AUC" in table
    assert "level refreshed weekly" in table and "recency at the split" in table


def test_nearest_neighbour_baseline_is_the_mean_of_the_closest_past_posts() -> None:
    past = np.eye(4)[[0, 0, 1, 1, 2]].astype(float)
    y = np.array([1.0, 3.0, 10.0, 20.0, 100.0])
    assert nearest_neighbour_baseline(past, y, np.eye(4)[[0, 1]].astype(float), k=2).tolist() == [2.0, 15.0]


def test_too_few_posts_is_a_one_line_error() -> None:
    posts = generate_sample_posts(seed=1, n_posts=20)
    with pytest.raises(BacktestError, match="a back-test needs at least 30 before the split"):
        run_backtest(posts, np.zeros((20, 8)), platform="twitter", username="u")
