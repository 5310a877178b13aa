from __future__ import annotations

import codecs
import hashlib
import shutil
from datetime import datetime, timezone
from pathlib import Path

import pytest

from content_miner.common.layout import DataLayout
from content_miner.pipeline.account import AccountRequest
from content_miner.pipeline.retrieval import RetrievalError, retrieve
from content_miner.pipeline.scraping import ScrapeError, ScrapeSettings, default_providers, scrape
from content_miner.pipeline.scraping.x_archive import XArchiveImporter, parse_x_archive

FIXTURES = Path(__file__).parents[1] / "fixtures" / "ingest"
PROVIDERS = default_providers()
NOW = datetime(2024, 6, 1, 12, 0, tzinfo=timezone.utc)


def scrape_file(path: Path, data_dir: Path):
    request = AccountRequest(platform="twitter", username="ferris", source=str(path))
    return scrape(request, layout=DataLayout(data_dir), providers=PROVIDERS, settings=ScrapeSettings(), now=NOW)


def copy_fixture(name: str, directory: Path, as_name: str | None = None) -> Path:
    directory.mkdir(parents=True, exist_ok=True)
    return Path(shutil.copy(FIXTURES / name, directory / (as_name or name)))


def test_archive_items_become_raw_posts_with_string_counts_kept() -> None:
    posts = parse_x_archive((FIXTURES / "tweets.js").read_text(encoding="utf-8"))
    assert len(posts) == 6
    first = posts[0]
    assert first.id == "1581000000000000003"
    assert first.created_at == "Sat Oct 15 14:05:00 +0000 2022"
    assert first.text.startswith("Shipping the new release today &amp; it's")
    assert (first.likes, first.reposts, first.replies) == ("120", "31", None)  # archives have no reply counts


def test_scrape_then_retrieve_a_real_archive(tmp_path: Path) -> None:
    source = copy_fixture("tweets.js", tmp_path / "export")
    result = scrape_file(source, tmp_path / "data")
    assert result.provider == "x-archive" and not result.from_cache
    assert result.fetched_at == NOW
    retrieved = retrieve(result)
    ids = [post.id for post in retrieved.posts]
    # Oldest first; the repeated id, the re-post and the near-identical re-announcement are dropped.
    assert ids == ["1580000000000000001", "1581000000000000003", "1584000000000000006"]
    assert retrieved.dropped == {"duplicate_id": 1, "repost": 1, "near_duplicate": 1}
    shipped = retrieved.posts[1]
    assert shipped.text.startswith("Shipping the new release today & it's faster")
    assert shipped.created_at == datetime(2022, 10, 15, 14, 5, tzinfo=timezone.utc)
    assert (shipped.likes, shipped.reposts) == (120, 31)
    assert shipped.hashtags == ("rustlang",)
    assert shipped.mentions == ("rustlang",)
    assert shipped.links == ("https://t.co/abc123",)
    assert retrieved.posts[0].text == "Morning thoughts on compiler design: keep the IR small."


def test_import_reads_only_and_writes_only_the_cache(tmp_path: Path) -> None:
    source = copy_fixture("tweets.js", tmp_path / "export")
    before = hashlib.sha256(source.read_bytes()).hexdigest()
    data_dir = tmp_path / "data"
    scrape_file(source, data_dir)
    assert hashlib.sha256(source.read_bytes()).hexdigest() == before
    assert [p.name for p in (tmp_path / "export").iterdir()] == ["tweets.js"]
    written = sorted(p.relative_to(data_dir).as_posix() for p in data_dir.rglob("*") if p.is_file())
    assert written == ["raw_cache/twitter/ferris.json"]


@pytest.mark.parametrize(
    "encode",
    [
        lambda text: codecs.BOM_UTF8 + text.encode("utf-8"),
        lambda text: text.encode("utf-16"),  # with the platform's BOM
        lambda text: codecs.BOM_UTF16_BE + text.encode("utf-16-be"),
        lambda text: codecs.BOM_UTF16_LE + text.encode("utf-16-le"),
    ],
    ids=["utf8-bom", "utf16", "utf16-be", "utf16-le"],
)
def test_accepted_encodings_give_the_same_posts(tmp_path: Path, encode) -> None:
    text = (FIXTURES / "tweets.js").read_text(encoding="utf-8")
    source = tmp_path / "tweets.js"
    source.write_bytes(encode(text))
    expected = retrieve(scrape_file(FIXTURES / "tweets.js", tmp_path / "a")).posts
    assert retrieve(scrape_file(source, tmp_path / "b")).posts == expected


@pytest.mark.parametrize(
    ("name", "content", "reason"),
    [
        ("tweets_latin1.js", None, "tweets_latin1.js is not valid UTF-8 (bad byte at offset"),
        ("tweets_truncated.js", None, "tweets_truncated.js is malformed or truncated:"),
        ("likes_not_posts.js", None, "likes_not_posts.js holds the archive's 'like' data, not posts"),
        ("tweets.js", b"var data = [];", "tweets.js is not an X archive posts file"),
        ("tweets.js", b"window.YTD.tweets.part0 = {}", "tweets.js is malformed: expected a list"),
        ("tweets.js", b'window.YTD.tweets.part0 = ["x"]', "tweets.js is malformed: item 0 is not"),
        ("tweets.js", "window.YTD.tweets.part0 = []".encode("utf-16-le"), "tweets.js contains NUL"),
        ("tweets.js", codecs.BOM_UTF32_LE + "[]".encode("utf-32-le"), "tweets.js is UTF-32"),
        ("tweets.js", codecs.BOM_UTF16_LE + b"\x00\xd8", "tweets.js is not valid UTF-16"),
        ("tweets.js", b"window.YTD.tweets.part0 = " + b"[" * 100_000, "tweets.js is malformed or truncated: nested"),
    ],
)
def test_bad_archives_fail_with_one_line(tmp_path: Path, name: str, content: bytes | None, reason: str) -> None:
    if content is None:
        source = copy_fixture(name, tmp_path / "export")
    else:
        source = tmp_path / "export" / name
        source.parent.mkdir()
        source.write_bytes(content)
    before = source.read_bytes()
    with pytest.raises(ScrapeError) as caught:
        scrape_file(source, tmp_path / "data")
    assert str(caught.value).startswith(reason)
    assert "\n" not in str(caught.value)
    assert source.read_bytes() == before
    assert not (tmp_path / "data" / "raw_cache").exists()  # nothing cached from a failed import


def test_an_archive_with_one_post_is_not_enough(tmp_path: Path) -> None:
    result = scrape_file(FIXTURES / "tweets_one_post.js", tmp_path)
    with pytest.raises(RetrievalError, match=r"^not enough usable posts for ferris: 1 of 1 usable"):
        retrieve(result)


def test_an_empty_archive_says_no_posts(tmp_path: Path) -> None:
    source = tmp_path / "tweets.js"
    source.write_text("window.YTD.tweets.part0 = [ ]\n")
    with pytest.raises(RetrievalError, match="^no posts found for ferris"):
        retrieve(scrape_file(source, tmp_path / "data"))


def test_archive_is_recognised_by_content_whatever_its_extension(tmp_path: Path) -> None:
    source = copy_fixture("tweets.js", tmp_path, as_name="my_posts.json")
    request = AccountRequest(platform="twitter", username="ferris", source=str(source))
    assert isinstance(PROVIDERS.provider_for(request, ScrapeSettings()), XArchiveImporter)


def test_older_archive_name_tweet_js_and_unwrapped_items() -> None:
    text = ('window.YTD.tweet.part0 = [{"id_str": "9", "full_text": "hi", '
            '"created_at": "Wed Oct 10 20:19:24 +0000 2018", "favorite_count": "2", "retweet_count": "0"}];')
    (post,) = parse_x_archive(text, label="tweet.js")
    assert (post.id, post.text, post.likes) == ("9", "hi", "2")


def test_missing_fields_and_negative_counts_are_dropped_and_counted(tmp_path: Path) -> None:
    good = ('{"tweet": {"id_str": "%s", "full_text": "post %s", "created_at": "Wed Oct 10 20:19:24 +0000 2018", '
            '"favorite_count": "1", "retweet_count": "0"}}')
    items = [good % (i, i) for i in range(3)] + [
        '{"tweet": {"id_str": "7", "created_at": "Wed Oct 10 20:19:24 +0000 2018", '
        '"favorite_count": "1", "retweet_count": "0"}}',
        '{"tweet": {"id_str": "8", "full_text": "x", "favorite_count": "1", "retweet_count": "0"}}',
        '{"tweet": {"id_str": "9", "full_text": "y", "created_at": "Wed Oct 10 20:19:24 +0000 2018", '
        '"favorite_count": "-4", "retweet_count": "0"}}',
        '{"tweet": {"id_str": "10", "full_text": "z", "created_at": "Wed Oct 10 20:19:24 +0000 2018", '
        '"retweet_count": "0"}}',
    ]
    source = tmp_path / "tweets.js"
    source.write_text("window.YTD.tweets.part0 = [" + ",".join(items) + "]")
    retrieved = retrieve(scrape_file(source, tmp_path / "data"))
    assert len(retrieved.posts) == 3
    assert retrieved.dropped == {"missing_text": 1, "missing_timestamp": 1, "negative_count": 1, "missing_count": 1}
