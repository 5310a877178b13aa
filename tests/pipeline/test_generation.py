from __future__ import annotations

import subprocess
import sys
from collections import Counter
from dataclasses import replace
from datetime import datetime, timezone
from pathlib import Path

import numpy as np
import pytest

from content_miner.pipeline.embedding import load_embedder
from content_miner.pipeline.generation import PlanGenerationError, allocate, generate_plan
from content_miner.pipeline.plan import ContentPlan
from content_miner.pipeline.sample_account import generate_sample_posts, load_sample_posts, to_jsonl, topic_of
from content_miner.pipeline.sample_topics import SAMPLE_TOPICS
from content_miner.pipeline.time_series import analyse
from content_miner.pipeline.topics import Topic, fit_topics

NOW = datetime(2025, 5, 8, 9, 30, tzinfo=timezone.utc)


def _plan(posts, count: int = 15) -> ContentPlan:  # type: ignore[no-untyped-def]
    embedder = load_embedder()
    vectors = embedder.embed([p.text for p in posts])
    return generate_plan(
        posts, vectors, analyse(posts, NOW, embeddings=vectors), platform="x", username="demo",
        now=NOW, provider="sample", count=count, embedder=embedder,
    )


@pytest.fixture(scope="module")
def sample_plan() -> ContentPlan:
    return _plan(load_sample_posts())


def test_default_plan_has_fifteen_well_formed_recommendations(sample_plan: ContentPlan) -> None:
    recs = sample_plan.recommendations
    assert [r.rank for r in recs] == list(range(1, 16))
    assert [r.id for r in recs] == [f"rec-{i:02d}" for i in range(1, 16)]
    assert len({r.next_slot_at for r in recs}) == 15  # never two posts at once
    for r in recs:
        assert r.next_slot_at > NOW and r.next_slot_at.minute == 0
        if r.slot is not None:
            assert (r.next_slot_at.weekday(), r.next_slot_at.hour) == (r.slot.weekday, r.slot.hour)
        assert r.expected_engagement.low <= r.expected_engagement.median <= r.expected_engagement.high
        assert r.evidence and all(e.engagement >= 0 for e in r.evidence)
        assert r.hashtags and not any(t.startswith("#") for t in r.hashtags)  # the sample tags most posts
        assert 0 < len(r.draft) <= 280
    # Drafts are ranked by the engagement model's prediction, best first.
    assert [r.expected_engagement.median for r in recs][0] >= recs[-1].expected_engagement.median
    assert [s.lift_low for s in sample_plan.best_slots] == sorted((s.lift_low for s in sample_plan.best_slots),
                                                                  reverse=True)
    assert sample_plan.posting_time is not None
    assert sample_plan.posting_time.claimed == bool(sample_plan.best_slots)


def test_strong_topics_get_several_recommendations_with_different_angles(sample_plan: ContentPlan) -> None:
    per_topic = Counter(r.topic for r in sample_plan.recommendations)
    assert max(per_topic.values()) >= 2
    for topic in per_topic:
        drafts = [r.draft for r in sample_plan.recommendations if r.topic == topic]
        assert len(set(drafts)) == len(drafts)


def test_same_input_same_plan(sample_plan: ContentPlan) -> None:
    assert _plan(load_sample_posts()).model_dump_json() == sample_plan.model_dump_json()


def test_every_topic_is_summarised_with_its_recommendations(sample_plan: ContentPlan) -> None:
    topics = sample_plan.topics
    assert [t.rank for t in topics] == list(range(1, len(topics) + 1))
    assert sum(t.recommendations for t in topics) == len(sample_plan.recommendations)
    by_label = {t.label: t for t in topics}
    for r in sample_plan.recommendations:
        assert r.topic_trend == by_label[r.topic].trend


def test_a_topic_whose_engagement_grows_week_after_week_is_the_one_rising() -> None:
    """The sample account drifts up about 3.5 % a week as a whole; one subject is made to grow 25 %
    a week. Only that subject may be called rising: one test per topic would call some other topic
    rising by chance without the Holm correction."""
    posts = generate_sample_posts(seed=9, n_posts=360, days=120)
    first = posts[0].created_at

    def grown(post):  # type: ignore[no-untyped-def]
        if topic_of(post) != "houseplants":
            return post
        factor = 1.25 ** ((post.created_at - first).days / 7)
        return replace(post, likes=round(post.likes * factor), reposts=round(post.reposts * factor))

    plan = _plan([grown(p) for p in posts])
    by_id = {p.id: p for p in posts}
    subjects = {r.topic: {topic_of(by_id[e.id]) for e in r.evidence} for r in plan.recommendations}
    rising = [t for t in plan.topics if t.trend == "rising"]
    # The number of topics now follows what predicts engagement, so the growing subject may be one
    # topic or split in two; either way every rising topic is that subject, and no other is rising.
    assert rising and all(subjects.get(t.label) == {"houseplants"} for t in rising)
    assert all(t.weekly_change is not None and t.weekly_change > 0.15 for t in rising)
    assert "rising" in next(r.rationale for r in plan.recommendations if r.topic == rising[0].label)


def test_a_planted_topic_is_found_and_ranked_first() -> None:
    """Topics are now as many as predict engagement on newer posts (not by silhouette): with one
    subject made 2.5x as engaging, it comes first, as a topic of its own."""
    posts = generate_sample_posts(seed=21, n_posts=600, days=150, boosted_topic="houseplants", boost=2.5)
    vectors = load_embedder().embed([p.text for p in posts])
    analysis = analyse(posts, posts[-1].created_at, embeddings=vectors)
    model = fit_topics([p.text for p in posts], [p.hashtags for p in posts], vectors,
                       np.array(analysis.level_residuals))
    assert model.k >= 2 and model.predictive
    best = model.topics[0]
    truth = Counter(topic_of(posts[i]) for i in best.members)
    assert truth.most_common(1)[0][0] == "houseplants" and truth["houseplants"] / best.support >= 0.9
    assert best.recommended and best.lift > 1.3


def test_without_a_topic_effect_topics_do_not_claim_to_predict() -> None:
    flat = [replace(t, appeal=1.0) for t in SAMPLE_TOPICS]
    posts = generate_sample_posts(seed=21, n_posts=600, days=150, topics=flat, time_rhythm=False)
    vectors = load_embedder().embed([p.text for p in posts])
    analysis = analyse(posts, posts[-1].created_at, embeddings=vectors)
    model = fit_topics([p.text for p in posts], [p.hashtags for p in posts], vectors,
                       np.array(analysis.level_residuals))
    assert not model.predictive


def test_thin_data_gives_fewer_recommendations_and_says_why() -> None:
    plan = _plan(generate_sample_posts(seed=5, n_posts=12))
    assert 1 <= len(plan.recommendations) < 15
    assert any("recommendations instead of 15" in n for n in plan.notes)


def test_misaligned_inputs_are_refused() -> None:
    posts = generate_sample_posts(seed=5, n_posts=20)
    with pytest.raises(PlanGenerationError, match="differ"):
        generate_plan(posts, np.zeros((19, 384), np.float32), analyse(posts, NOW),
                      platform="x", username="u", now=NOW, provider="t")


def _topic(rank: int, lift: float, support: int) -> Topic:
    effect = float(np.log(lift))
    return Topic(rank, f"t{rank}", (f"t{rank}",), tuple(range(support)), np.zeros(3, np.float32), effect, effect,
                 effect, ())


def test_allocation_favours_lift_and_respects_support() -> None:
    topics = [_topic(1, 2.0, 60), _topic(2, 1.0, 60), _topic(3, 0.9, 3)]
    picks = [t.index for t, _ in allocate(topics, 8)]
    assert picks[0] == 1 and Counter(picks)[1] > Counter(picks)[2] and Counter(picks)[3] <= 1
    assert len(allocate([_topic(1, 1.0, 6)], 15)) == 2  # one recommendation per 3 posts


def test_shipped_sample_is_what_the_generator_writes() -> None:
    shipped = Path(__file__).parents[2] / "src/content_miner/pipeline/samples/sample_account.jsonl"
    assert shipped.read_text("utf-8") == to_jsonl(generate_sample_posts())
    assert len(load_sample_posts()) == 360


def test_sample_cli_writes_jsonl_and_reports_a_bad_path(tmp_path: Path) -> None:
    out = tmp_path / "posts.jsonl"
    done = subprocess.run([sys.executable, "-m", "content_miner.pipeline.sample_account", str(out), "--posts", "25"],
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 0 and len(out.read_text().splitlines()) == 25
    bad = subprocess.run([sys.executable, "-m", "content_miner.pipeline.sample_account",
                          str(tmp_path / "no" / "x.jsonl")],
                         capture_output=True, text=True, timeout=120)
    assert bad.returncode == 1 and bad.stderr.startswith("error: cannot write") and "Traceback" not in bad.stderr
