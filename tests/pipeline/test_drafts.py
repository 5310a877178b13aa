"""Drafts are postable as written: no mentions, links or copied counts, correct plurals, grammatical
subjects, hashtags only for accounts that use them and never stale ones."""

from __future__ import annotations

import re
from dataclasses import replace
from datetime import datetime, timedelta, timezone

import pytest

from content_miner.pipeline.angles import ANGLES, TopicBrief, template_draft
from content_miner.pipeline.draft_text import plural, postable, subject_phrases
from content_miner.pipeline.embedding import LEXICAL_NAME, load_embedder
from content_miner.pipeline.generation import generate_plan
from content_miner.pipeline.hashtag_trends import hashtag_use
from content_miner.pipeline.models import Post
from content_miner.pipeline.sample_account import generate_sample_posts
from content_miner.pipeline.time_series import analyse
from content_miner.pipeline.topics import words

START = datetime(2024, 1, 1, tzinfo=timezone.utc)


def test_postable_removes_mentions_links_and_copied_counts() -> None:
    text = "@alice @bob Our launch got 48213 likes! See https://t.co/abc and pic.twitter.com/xyz for 3 photos"
    assert postable(text, banned_numbers=[48213.0]) == "Our launch got likes! See and for 3 photos"
    assert len(postable("word " * 100)) <= 280


@pytest.mark.parametrize(("count", "word", "text"), [(0, "reply", "0 replies"), (1, "reply", "1 reply"),
                                                     (2, "reply", "2 replies"), (1, "post", "1 post"),
                                                     (1200, "post", "1,200 posts")])
def test_plurals(count: int, word: str, text: str) -> None:
    assert plural(count, word) == text


def test_subjects_keep_the_accounts_spelling_and_articles() -> None:
    texts = ["Loving the new Tesla update.", "My Tesla got the update today.", "Road trip in the Tesla!",
             "Back at the office.", "The office is quiet.", "Heading to the office now.",
             "This is awesome stuff", "awesome day", "So awesome!", "Congrats to SpaceX on the launch", "Go SpaceX!",
             "Thanks to President Obama.", "A word from President Lincoln", "Donald Trump again", "Donald Trump said",
             "We beat Trump."]
    keywords = ["tesla", "office", "awesome", "spacex", "president", "trump", "donald"]
    # "the Tesla" (a car of its own), "SpaceX" (a name), no "awesome" (not a thing), no "President"
    # (a title before names), and "Donald Trump" as one name, not "Trump" and "Donald".
    assert subject_phrases(texts, keywords) == ["the Tesla", "the office", "SpaceX", "Donald Trump"]


def test_every_angle_makes_a_sentence_with_or_without_a_subject() -> None:
    for angle in ANGLES:
        for subjects in ((), ("the office",), ("Berlin", "the weekend")):
            draft = template_draft(TopicBrief("t", (), (), angle.key, "", subjects))
            assert draft[0].isupper() and draft.rstrip()[-1] in ".?:" and "  " not in draft
            assert "{" not in draft and "@" not in draft


def test_labels_carry_no_url_or_contraction_debris() -> None:
    assert words("Don't we'll https://t.co/abc pic.twitter.com/xyz Tesla's cars &amp; the rockets, thx ll") == [
        "tesla", "cars", "rockets"]


def _posts_with(tagged_share: float, old_tag: bool = False) -> list[Post]:
    posts = generate_sample_posts(seed=3, n_posts=300, days=300)
    out = []
    for i, post in enumerate(posts):
        tags: tuple[str, ...] = ()
        if i % 100 < tagged_share * 100:
            early = post.created_at < posts[0].created_at + timedelta(days=60)
            tags = ("ces2019",) if old_tag and early else ("coffee",)
        out.append(replace(post, hashtags=tags, text=post.text.split(" #")[0] + "".join(f" #{t}" for t in tags)))
    return out


def test_hashtags_only_for_accounts_that_use_them_and_only_recent_ones() -> None:
    rare = _posts_with(0.03)
    now = rare[-1].created_at
    assert hashtag_use([p.created_at for p in rare], [p.hashtags for p in rare], now).suggestable == ()
    common = _posts_with(0.5, old_tag=True)
    use = hashtag_use([p.created_at for p in common], [p.hashtags for p in common], now)
    assert use.share > 0.05 and "coffee" in use.suggestable and "ces2019" not in use.suggestable
    # A year later, with nothing posted since, even the account's usual tag is stale.
    assert hashtag_use([p.created_at for p in common], [p.hashtags for p in common],
                       now + timedelta(days=365)).suggestable == ()


def test_an_event_tag_is_suggested_only_while_the_event_is_on() -> None:
    posts = _posts_with(0.5)
    end = posts[-1].created_at
    tagged = [replace(p, hashtags=("launchweek",)) if end - p.created_at < timedelta(days=10) else p for p in posts]
    times, tags = [p.created_at for p in tagged], [p.hashtags for p in tagged]
    assert "launchweek" in hashtag_use(times, tags, end).suggestable
    assert "launchweek" not in hashtag_use(times, tags, end + timedelta(days=30)).suggestable


def test_plan_drafts_are_postable_as_written() -> None:
    """A generated account whose posts mention people, carry links and big counts."""
    posts = generate_sample_posts(seed=8, n_posts=400, days=120, reply_share=0.3)
    posts = [replace(p, text=f"{p.text} https://t.co/x{i} @friend{i % 7}", likes=p.likes + 10_000)
             for i, p in enumerate(posts)]
    vectors = load_embedder(LEXICAL_NAME).embed([p.text for p in posts])
    now = posts[-1].created_at + timedelta(hours=3)
    plan = generate_plan(posts, vectors, analyse(posts, now, embeddings=vectors), platform="twitter",
                         username="demo", now=now, provider="t")
    counts = {str(p.likes) for p in posts} | {str(p.reposts) for p in posts if p.reposts >= 10}
    assert plan.recommendations
    for rec in plan.recommendations:
        assert "@" not in rec.draft and "http" not in rec.draft and "t.co" not in rec.draft
        assert not set(re.findall(r"\d+", rec.draft)) & counts
        assert re.search(r"\b1 (replies|posts|likes)\b", rec.rationale + rec.draft) is None
        assert 0 < len(rec.draft) <= 280
