"""End to end through stages 3-6 on accounts with a planted winning hour and topic."""

from __future__ import annotations

from datetime import datetime, timezone
from pathlib import Path

import pytest

from content_miner.common.layout import DataLayout
from content_miner.pipeline.embedding import load_embedder
from content_miner.pipeline.export import export_plan
from content_miner.pipeline.generation import generate_plan
from content_miner.pipeline.plan import ContentPlan
from content_miner.pipeline.sample_account import generate_sample_posts, topic_of
from content_miner.pipeline.time_series import analyse
from content_miner.pipeline.vector_index import PostIndex

NOW = datetime(2025, 5, 12, 8, 0, tzinfo=timezone.utc)


@pytest.mark.parametrize(
    ("seed", "hour", "topic"),
    # off-peak hours and middling topics, so nothing but the planted boost can put them first
    [(31, 11, "houseplants"), (32, 3, "python-tooling"), (33, 7, "personal-finance")],
)
def test_planted_hour_and_topic_come_first(tmp_path: Path, seed: int, hour: int, topic: str) -> None:
    posts = generate_sample_posts(seed=seed, n_posts=300, boosted_hour=hour, boosted_topic=topic, boost=4.0)
    indexed = PostIndex.open(tmp_path / "vector_index", chroma_url="").index_posts("twitter", "planted", posts)
    analysis = analyse(posts, NOW)
    plan = generate_plan(posts, indexed.embeddings, analysis, platform="twitter", username="planted",
                         now=NOW, provider="sample", embedder=load_embedder())

    assert hour in {s.hour for s in plan.best_slots[:2]}
    first = plan.recommendations[0]
    by_id = {p.id: p for p in posts}
    assert all(topic_of(by_id[e.id]) == topic for e in first.evidence)
    assert first.slot.hour == hour
    files = export_plan(plan, analysis, DataLayout(tmp_path))
    assert ContentPlan.model_validate_json(files.plan_json.read_text()).recommendations[0].topic == first.topic


def test_without_the_boost_the_same_hour_and_topic_do_not_win() -> None:
    posts = generate_sample_posts(seed=31, n_posts=300, boosted_hour=11, boosted_topic="houseplants", boost=1.0)
    embedder = load_embedder()
    plan = generate_plan(posts, embedder.embed([p.text for p in posts]), analyse(posts, NOW), platform="twitter",
                         username="control", now=NOW, provider="sample", embedder=embedder)
    by_id = {p.id: p for p in posts}
    assert 11 not in {s.hour for s in plan.best_slots[:2]}
    assert not all(topic_of(by_id[e.id]) == "houseplants" for e in plan.recommendations[0].evidence)
