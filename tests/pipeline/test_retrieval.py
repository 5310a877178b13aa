from __future__ import annotations

import random
import string
from datetime import datetime, timedelta, timezone

import pytest

from content_miner.pipeline.models import RawPost, ScrapeResult
from content_miner.pipeline.near_duplicates import NearDuplicateIndex, jaccard, shingles
from content_miner.pipeline.post_text import comparable_text
from content_miner.pipeline.retrieval import RetrievalError, UnusablePost, parse_count, parse_timestamp, retrieve

FETCHED = datetime(2024, 6, 1, 12, 0, tzinfo=timezone.utc)
UTC = timezone.utc


def raw(post_id: str, text: str, created_at: str = "2024-01-01T10:00:00Z", likes: object = 1,
        reposts: object = 0, replies: object = 0, views: object = None) -> RawPost:
    return RawPost(post_id, text, created_at, likes, reposts, replies, views)


def result(*posts: RawPost, platform: str = "twitter") -> ScrapeResult:
    return ScrapeResult(platform, "acme", tuple(posts), "test", FETCHED)


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("Wed Oct 10 20:19:24 +0000 2018", datetime(2018, 10, 10, 20, 19, 24, tzinfo=UTC)),
        ("Wed Oct 10 20:19:24 -0230 2018", datetime(2018, 10, 10, 22, 49, 24, tzinfo=UTC)),
        ("2024-01-15T12:00:00.000Z", datetime(2024, 1, 15, 12, tzinfo=UTC)),
        ("2024-01-15T12:00:00+05:30", datetime(2024, 1, 15, 6, 30, tzinfo=UTC)),
        ("2024-01-15 12:00:00", datetime(2024, 1, 15, 12, tzinfo=UTC)),  # no offset: UTC
        (" 2024-01-15T12:00:00Z ", datetime(2024, 1, 15, 12, tzinfo=UTC)),
    ],
)
def test_timestamps_become_utc(value: str, expected: datetime) -> None:
    parsed = parse_timestamp(value)
    assert parsed == expected and parsed.tzinfo == UTC


@pytest.mark.parametrize(
    ("value", "reason"),
    [
        ("", "missing_timestamp"),
        ("yesterday", "bad_timestamp"),
        ("2024-01-15", "bad_timestamp"),  # no time of day
        ("2024-13-01T00:00:00Z", "bad_timestamp"),
        ("Wed Foo 10 20:19:24 +0000 2018", "bad_timestamp"),
        ("1970-01-01T00:00:00Z", "bad_timestamp"),
        ("0001-01-01T00:00:00+05:00", "bad_timestamp"),  # before year 1 in UTC
        ("9999-12-31T23:59:59-05:00", "bad_timestamp"),  # after year 9999 in UTC
    ],
)
def test_unusable_timestamps(value: str, reason: str) -> None:
    with pytest.raises(UnusablePost) as caught:
        parse_timestamp(value)
    assert caught.value.reason == reason


@pytest.mark.parametrize(("value", "expected"), [(0, 0), (7, 7), ("42", 42), (" 3 ", 3), (5.0, 5), ("+2", 2)])
def test_counts(value: object, expected: int) -> None:
    assert parse_count(value) == expected


@pytest.mark.parametrize(
    ("value", "reason"),
    [(None, "missing_count"), ("", "missing_count"), (-1, "negative_count"), ("-4", "negative_count"),
     ("1.5k", "bad_count"), (2.5, "bad_count"), (True, "bad_count"), ([1], "bad_count"),
     ("9" * 5000, "bad_count"), (10**30, "bad_count"), (float("inf"), "bad_count"), (1e300, "bad_count")],
)
def test_unusable_counts(value: object, reason: str) -> None:
    with pytest.raises(UnusablePost) as caught:
        parse_count(value)
    assert caught.value.reason == reason


def test_posts_come_out_oldest_first_and_cleaned() -> None:
    retrieved = retrieve(result(
        raw("3", "third", "2024-01-03T00:00:00Z"),
        raw("1", "  first\n\n line &lt;3 ", "2024-01-01T00:00:00Z"),
        raw("2", "second", "2024-01-02T00:00:00Z", views="10"),
    ))
    assert [p.id for p in retrieved.posts] == ["1", "2", "3"]
    assert retrieved.posts[0].text == "first line <3"
    assert retrieved.posts[1].views == 10
    assert retrieved.dropped == {}


def test_entities() -> None:
    text = ("Loving #Rust and #rust2024 with @Alice_1, @bob! See https://example.com/a#frag, "
            "https://t.co/XyZ). Mail me: me@example.com #1 &amp; #Café")
    (post, _) = retrieve(result(raw("1", text), raw("2", "other post entirely", "2024-01-02T00:00:00Z"))).posts
    assert post.hashtags == ("rust", "rust2024", "café")
    assert post.mentions == ("alice_1", "bob")
    assert post.links == ("https://example.com/a#frag", "https://t.co/XyZ")


def test_same_id_keeps_the_earliest() -> None:
    retrieved = retrieve(result(
        raw("1", "later copy", "2024-01-05T00:00:00Z", likes=9),
        raw("1", "original", "2024-01-01T00:00:00Z", likes=1),
        raw("2", "something else", "2024-01-02T00:00:00Z"),
    ))
    assert [(p.id, p.text) for p in retrieved.posts] == [("1", "original"), ("2", "something else")]
    assert retrieved.dropped == {"duplicate_id": 1}


@pytest.mark.parametrize(
    "copy",
    [
        "Our new release is out today, go try it! https://t.co/bbb",  # another short link
        "@fan our new release is out today go try it",  # a reply mention, punctuation, case
        "Our new release is out today, go try it!!",
        # One typo in a long post.
        "Our new relaese is out today: faster builds, smaller binaries and better error messages",
    ],
)
def test_near_identical_texts_keep_the_earliest(copy: str) -> None:
    original = "Our new release is out today, go try it! https://t.co/aaa"
    if "relaese" in copy:
        original = "Our new release is out today: faster builds, smaller binaries and better error messages"
    retrieved = retrieve(result(
        raw("20", copy, "2024-01-02T00:00:00Z"),
        raw("10", original, "2024-01-01T00:00:00Z"),
        raw("30", "A completely different announcement", "2024-01-03T00:00:00Z"),
    ))
    assert [p.id for p in retrieved.posts] == ["10", "30"]
    assert retrieved.dropped == {"near_duplicate": 1}


@pytest.mark.parametrize(
    ("first", "second"),
    [
        ("Release 1.64 is out today", "Release 1.65 is out today"),  # different facts
        ("Good morning", "Good evening"),
        ("https://t.co/aaa", "https://t.co/bbb"),  # nothing left to compare: kept
        ("The dog bites the man", "The man bites the dog"),
    ],
)
def test_different_texts_are_kept(first: str, second: str) -> None:
    retrieved = retrieve(result(raw("1", first), raw("2", second, "2024-01-02T00:00:00Z")))
    assert len(retrieved.posts) == 2 and retrieved.dropped == {}


def test_comparable_text() -> None:
    assert comparable_text("Big NEWS!!  @bob #Launch https://t.co/x ") == "big news launch"
    assert comparable_text("\uff22\uff49\uff47 news") == "big news"  # full-width letters folded


def test_future_posts_and_reposts_are_dropped() -> None:
    retrieved = retrieve(result(
        raw("1", "fine"), raw("2", "also fine", "2024-01-02T00:00:00Z"),
        raw("3", "from the future", (FETCHED + timedelta(days=2)).isoformat()),
        raw("4", "slightly ahead clock", (FETCHED + timedelta(hours=2)).isoformat()),
        raw("5", "RT @someone: their words"),
    ))
    assert [p.id for p in retrieved.posts] == ["1", "2", "4"]
    assert retrieved.dropped == {"future_timestamp": 1, "repost": 1}


def test_max_posts_keeps_the_newest() -> None:
    posts = [raw(str(i), f"distinct post number {i} " + "x" * i, f"2024-01-{i:02d}T00:00:00Z") for i in range(1, 11)]
    retrieved = retrieve(result(*posts), max_posts=4)
    assert [p.id for p in retrieved.posts] == ["7", "8", "9", "10"]
    assert retrieved.dropped == {"over_max_posts": 6}


def test_too_few_posts_is_a_one_line_error() -> None:
    with pytest.raises(RetrievalError) as caught:
        retrieve(result(raw("1", "only"), raw("2", ""), raw("3", "x", "soon")))
    assert str(caught.value) == (
        "not enough usable posts for acme: 1 of 3 usable, at least 2 needed "
        "(dropped: missing_text 1, bad_timestamp 1)"
    )
    with pytest.raises(RetrievalError, match="^no posts found for acme"):
        retrieve(result())


def test_near_duplicate_index_matches_brute_force() -> None:
    rng = random.Random(7)
    words = "rust compiler release build fast tests ship docs async crate team today".split()
    texts = [comparable_text(" ".join(rng.choice(words) for _ in range(rng.randint(3, 9)))) for _ in range(400)]
    index = NearDuplicateIndex(texts, threshold=0.6)
    kept: list[str] = []
    for text in texts:
        expected = text in kept or any(jaccard(shingles(text), shingles(k)) >= 0.6 for k in kept)
        assert index.is_near_duplicate(text) == expected
        if not expected:
            index.add(text)
            kept.append(text)


def test_templated_posts_near_the_threshold_match_brute_force() -> None:
    """The same sentences with changing numbers and notes: hundreds of candidates per post just
    under (and over) 0.85, the case the batched verification exists for."""
    rng = random.Random(3)
    bases = [" ".join(rng.choice(string.ascii_lowercase) * rng.randint(1, 6) for _ in range(12)) for _ in range(15)]
    texts = [comparable_text(f"{rng.choice(bases)} run {rng.randint(1, 40)}" + " ok" * rng.randint(0, 3))
             for _ in range(300)]
    index = NearDuplicateIndex(texts)
    kept: list[frozenset[str]] = []
    outcomes = []
    for text in texts:
        probe = shingles(text)
        expected = any(jaccard(probe, k) >= 0.85 for k in kept)
        assert index.is_near_duplicate(text) == expected
        outcomes.append(expected)
        if not expected:
            index.add(text)
            kept.append(probe)
    assert 20 < outcomes.count(True) < 280, "the corpus has both near-duplicates and distinct posts"


def _random_vocabulary_texts(count: int) -> list[str]:
    rng = random.Random(1)
    vocabulary = ["".join(rng.choice(string.ascii_lowercase) for _ in range(rng.randint(2, 9)))
                  for _ in range(5000)]
    return [" ".join(rng.choice(vocabulary) for _ in range(rng.randint(5, 40))) for _ in range(count)]


def test_de_duplication_keeps_a_full_timeline_of_distinct_posts() -> None:
    texts = _random_vocabulary_texts(5000)
    posts = [raw(str(i), text, (FETCHED - timedelta(minutes=i)).isoformat()) for i, text in enumerate(texts)]
    assert len(retrieve(result(*posts)).posts) == 5000


def test_the_filters_leave_few_pairs_to_verify() -> None:
    """Prefix and size filtering: a timeline of distinct posts costs far fewer overlap counts than
    the n^2/2 pairs a pairwise comparison would make."""
    texts = [comparable_text(text) for text in _random_vocabulary_texts(5000)]
    index = NearDuplicateIndex(texts)
    for text in texts:
        assert not index.is_near_duplicate(text)
        index.add(text)
    assert index.verified < 0.01 * len(texts) ** 2 / 2
