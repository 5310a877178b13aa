from __future__ import annotations

from datetime import datetime, timedelta, timezone

import numpy as np
import pytest

from content_miner.pipeline.engagement import ENGAGEMENT_FORMULA, engagement
from content_miner.pipeline.models import Post
from content_miner.pipeline.post_features import slot_of
from content_miner.pipeline.sample_account import generate_sample_posts
from content_miner.pipeline.slots import NO_EFFECT
from content_miner.pipeline.time_series import InsufficientDataError, analyse

START = datetime(2025, 3, 3, tzinfo=timezone.utc)  # a Monday
NOW = START + timedelta(days=200)


def _post(i: int, when: datetime, likes: int, tags: tuple[str, ...] = ()) -> Post:
    return Post(id=str(i), text=f"post {i}", created_at=when, likes=likes, reposts=0, replies=0, hashtags=tags)


def _noisy(n: int, seed: int, weeks: int = 20, growth: float = 0.0) -> list[Post]:
    """`n` posts spread over `weeks`, log-normal engagement growing by `growth` per week."""
    rng = np.random.default_rng(seed)
    posts = []
    for i in range(n):
        when = START + timedelta(hours=int(rng.integers(0, weeks * 7 * 24)))
        week = (when - START).days / 7
        posts.append(_post(i, when, int(rng.lognormal(np.log(40) + growth * week, 0.4))))
    return sorted(posts, key=lambda p: p.created_at)


def test_engagement_formula_weights_reposts_and_replies() -> None:
    post = Post(id="1", text="t", created_at=START, likes=10, reposts=3, replies=2)
    assert engagement(post) == 10 + 2 * 3 + 3 * 2
    assert ENGAGEMENT_FORMULA == "likes + 2*reposts + 3*replies"


@pytest.mark.parametrize("count", [0, 1])
def test_fewer_than_two_posts_is_a_clear_error(count: int) -> None:
    with pytest.raises(InsufficientDataError, match=f"at least 2 posts, got {count}"):
        analyse([_post(i, START, 5) for i in range(count)], NOW)


def test_naive_timestamps_are_refused() -> None:
    posts = [_post(0, START, 5), _post(1, datetime(2025, 3, 4), 6)]
    with pytest.raises(InsufficientDataError, match="without a time zone"):
        analyse(posts, NOW)


def test_two_posts_give_notes_not_a_crash() -> None:
    analysis = analyse([_post(0, START, 5), _post(1, START + timedelta(days=1), 7)], NOW)
    assert analysis.activity.trend == "not enough data"
    assert any("only 2 posts" in note for note in analysis.notes)
    assert any("stale" in note for note in analysis.notes)
    # Two posts are no evidence for a posting time: no slot is claimed (the old plan ranked slots of 1 post).
    assert not analysis.slots.claimed and analysis.slots.message == NO_EFFECT


def test_one_viral_post_cannot_make_its_slot_the_best() -> None:
    posts = _noisy(300, seed=1)
    lonely = START + timedelta(days=10, hours=4)  # a Thursday 04:00: no other post there
    posts.append(_post(999, lonely, 5000))
    analysis = analyse(posts, NOW)
    assert not analysis.slots.ranked or analysis.slots.ranked[0].slot != slot_of(lonely)
    assert not analysis.slots.claimed
    assert "999" in {o.post_id for o in analysis.outliers}


def test_planted_hour_is_claimed_and_tops_the_slots() -> None:
    posts = generate_sample_posts(seed=4, n_posts=1200, days=240, boosted_hour=18, boost=3.0, time_rhythm=False)
    slots = analyse(posts, posts[-1].created_at).slots
    assert slots.claimed and slots.best
    assert all(e.hour == 18 for e in slots.best)
    assert [e.lower for e in slots.ranked] == sorted((e.lower for e in slots.ranked), reverse=True)


def test_no_time_effect_no_claim() -> None:
    posts = generate_sample_posts(seed=4, n_posts=1200, days=240, time_rhythm=False)
    slots = analyse(posts, posts[-1].created_at).slots
    assert not slots.claimed and slots.message == NO_EFFECT and slots.best == ()


@pytest.mark.parametrize(("growth", "expected"), [(0.05, "rising"), (-0.05, "falling"), (0.0, "flat")])
def test_trend_direction(growth: float, expected: str) -> None:
    posts = _noisy(200, seed=2, growth=growth)
    activity = analyse(posts, posts[-1].created_at).activity
    assert activity.status == "active" and activity.trend == expected
    if expected != "flat":
        assert activity.weekly_change == pytest.approx(np.expm1(growth), abs=0.02)


def test_posts_in_two_weeks_are_a_dormant_account_without_a_trend() -> None:
    activity = analyse(_noisy(40, seed=3, weeks=2), NOW).activity
    assert activity.status == "dormant" and activity.trend == "not enough data"
    assert activity.note.startswith("dormant: posts in 0 of the last 26 weeks, none since")
    # Three weeks after its first post, the same account is new, not dormant: too young for a trend.
    new = analyse(_noisy(40, seed=3, weeks=2), START + timedelta(weeks=3)).activity
    assert new.status == "active" and new.trend == "not enough data"


def test_a_planted_silence_makes_a_dormant_account_not_a_rising_one() -> None:
    """Engagement grows for 20 weeks, then the account falls silent: the old trend over every week
    called that "rising"; as of 12 weeks into the silence it is dormant."""
    posts = _noisy(200, seed=2, growth=0.05)
    silent = analyse(posts, posts[-1].created_at + timedelta(weeks=12))
    assert silent.activity.status == "dormant" and silent.activity.summary == "dormant"
    assert "none since" in silent.activity.note
    assert analyse(posts, posts[-1].created_at).activity.summary == "rising"


def test_without_reply_counts_engagement_leaves_replies_out() -> None:
    posts = [Post(id=str(i), text=f"post {i}", created_at=START + timedelta(days=i), likes=10, reposts=1,
                  replies=None) for i in range(10)]
    analysis = analyse(posts, NOW)
    assert analysis.formula == "likes + 2*reposts" and not analysis.counts_replies
    assert analysis.engagement == (12.0,) * 10
    assert any("no reply counts" in note for note in analysis.notes)


def test_hashtag_trends_follow_recent_use() -> None:
    posts = _noisy(240, seed=5)
    cutoff = posts[0].created_at + (posts[-1].created_at - posts[0].created_at) * 2 / 3
    tagged = [
        Post(**{**p.__dict__, "hashtags": ("newthing",) if p.created_at > cutoff and i % 3 == 0
                else ("oldthing",) if p.created_at <= cutoff and i % 3 == 0 else ("always",)})
        for i, p in enumerate(posts)
    ]
    directions = {t.hashtag: t.direction for t in analyse(tagged, NOW).hashtags}
    assert directions == {"newthing": "rising", "oldthing": "falling", "always": "steady"}


def test_same_input_same_analysis() -> None:
    posts = generate_sample_posts(seed=9, n_posts=120)
    # repr, not ==: empty slots hold NaN, and NaN != NaN
    assert repr(analyse(posts, NOW)) == repr(analyse(list(posts), NOW))
