from __future__ import annotations

import hashlib
from datetime import datetime, timezone
from pathlib import Path

import pytest

from content_miner.common.layout import DataLayout
from content_miner.pipeline.account import AccountRequest
from content_miner.pipeline.retrieval import RetrievalError, retrieve
from content_miner.pipeline.scraping import ScrapeError, ScrapeSettings, default_providers, scrape

FIXTURES = Path(__file__).parents[1] / "fixtures" / "ingest"
PROVIDERS = default_providers()
NOW = datetime(2024, 6, 1, 12, 0, tzinfo=timezone.utc)


def scrape_file(path: Path, data_dir: Path):
    request = AccountRequest(platform="twitter", username="acme", source=str(path))
    return scrape(request, layout=DataLayout(data_dir), providers=PROVIDERS, settings=ScrapeSettings(), now=NOW)


@pytest.mark.parametrize("name", ["posts.jsonl", "posts.json"])
def test_json_exports(tmp_path: Path, name: str) -> None:
    result = scrape_file(FIXTURES / name, tmp_path)
    assert result.provider == "tabular" and len(result.posts) == 5
    retrieved = retrieve(result)
    assert [post.id for post in retrieved.posts] == ["p1", "p2", "p3"]
    assert retrieved.dropped == {"bad_timestamp": 1, "negative_count": 1}
    first, second, third = retrieved.posts
    assert first.created_at == datetime(2024, 3, 1, 8, 15, tzinfo=timezone.utc)  # +01:00 -> UTC
    assert first.mentions == ("acme",)
    assert second.links == ("https://example.com/guide",) and second.views is None
    assert (third.likes, third.reposts, third.replies, third.views) == (40, 5, 3, 2100)
    assert third.hashtags == ("product",)


def test_csv_export_with_quotes_newlines_and_unicode(tmp_path: Path) -> None:
    retrieved = retrieve(scrape_file(FIXTURES / "posts.csv", tmp_path))
    assert [post.id for post in retrieved.posts] == ["c1", "c2", "c3"]
    c1, c2, c3 = retrieved.posts
    assert c1.text == "Première publication — ünïcode ✓ #Café"
    assert c1.hashtags == ("café",)
    assert c1.created_at == datetime(2024, 5, 1, 11, 30, tzinfo=timezone.utc)
    assert (c1.likes, c1.views) == (15, 900)
    assert c2.text == 'Second post, with a comma and "quotes"' and c2.views is None
    assert c3.text == "Multi-line post text"


def test_csv_in_utf16_with_bom(tmp_path: Path) -> None:
    source = tmp_path / "posts.csv"
    source.write_bytes((FIXTURES / "posts.csv").read_text(encoding="utf-8").encode("utf-16"))
    utf16 = retrieve(scrape_file(source, tmp_path / "a")).posts
    assert utf16 == retrieve(scrape_file(FIXTURES / "posts.csv", tmp_path / "b")).posts


@pytest.mark.parametrize(
    ("name", "content", "reason"),
    [
        ("x.csv", b"id,tweet,created_at,retweets\n1,a,2024-01-01T00:00:00Z,1\n",
         "x.csv is missing column(s): likes (or likes_count, favorite_count, favourite_count, like_count, favorites)"),
        ("posts_broken_line.jsonl", None, "posts_broken_line.jsonl line 2 is not valid JSON"),
        ("x.csv", b"", "x.csv is empty (expected a header row)"),
        ("x.jsonl", b'{"id": "1"}\n[1, 2]\n', "x.jsonl line 2 is not a JSON object"),
        ("x.json", b'[{"id": "1"}, 3]', "x.json item 1 is not a JSON object"),
        ("x.json", b'[{"id": "1"', "x.json is malformed or truncated"),
        ("x.csv", b"id,text\xff\n", "x.csv is not valid UTF-8"),
        ("x.txt", b"id,text\n", "unsupported source file 'x.txt'"),
        ("x.json", b"[" * 100_000, "x.json is malformed or truncated: nested too deeply"),
        ("x.jsonl", b'{"id": "1", "likes": ' + b"9" * 5000 + b"}\n",
         "x.jsonl line 1 is not valid JSON (a number is too long)"),
    ],
)
def test_bad_exports_fail_with_one_line(tmp_path: Path, name: str, content: bytes | None, reason: str) -> None:
    source = FIXTURES / name if content is None else tmp_path / name
    if content is not None:
        source.write_bytes(content)
    before = hashlib.sha256(source.read_bytes()).hexdigest()
    with pytest.raises(ScrapeError) as caught:
        scrape_file(source, tmp_path / "data")
    assert str(caught.value).startswith(reason)
    assert "\n" not in str(caught.value)
    assert hashlib.sha256(source.read_bytes()).hexdigest() == before


def test_missing_source_file(tmp_path: Path) -> None:
    with pytest.raises(ScrapeError, match="^source file not found: "):
        scrape_file(tmp_path / "nope.csv", tmp_path)


def test_a_directory_is_not_a_source(tmp_path: Path) -> None:
    (tmp_path / "dir.csv").mkdir()
    with pytest.raises(ScrapeError, match="^cannot read source file|^source is"):
        scrape_file(tmp_path / "dir.csv", tmp_path / "data")


def test_all_negative_counts_leave_nothing_usable(tmp_path: Path) -> None:
    with pytest.raises(RetrievalError) as caught:
        retrieve(scrape_file(FIXTURES / "posts_all_negative.jsonl", tmp_path))
    assert str(caught.value) == (
        "not enough usable posts for acme: 0 of 3 usable, at least 2 needed (dropped: negative_count 3)"
    )


def test_missing_csv_cells_are_dropped_as_missing(tmp_path: Path) -> None:
    source = tmp_path / "posts.csv"
    source.write_text(
        "id,text,created_at,likes,reposts,replies\n"
        "1,one,2024-01-01T10:00:00Z,1,0,0\n"
        "2,two,2024-01-02T10:00:00Z,1,0,0\n"
        "3,three,2024-01-03T10:00:00Z,,0,0\n"
        "4,four,2024-01-04T10:00:00Z,1\n"
        "5,,2024-01-05T10:00:00Z,1,0,0\n"
        ",six,2024-01-06T10:00:00Z,1,0,0\n"
        "7,seven,2024-01-07T10:00:00Z,lots,0,0\n"
        "\n"
    )
    retrieved = retrieve(scrape_file(source, tmp_path / "data"))
    assert [post.id for post in retrieved.posts] == ["1", "2"]
    assert retrieved.dropped == {"missing_count": 2, "missing_text": 1, "missing_id": 1, "bad_count": 1}


def test_a_csv_without_replies_imports_with_replies_unknown(tmp_path: Path) -> None:
    """Replies are optional (X archives and many dumps have none): the posts import, replies None."""
    source = tmp_path / "posts.csv"
    source.write_text((FIXTURES / "posts_missing_column.csv").read_text() + "x2,again,2024-05-02T00:00:00Z,3,1\n")
    retrieved = retrieve(scrape_file(source, tmp_path / "data"))
    assert [p.id for p in retrieved.posts] == ["x1", "x2"] and all(p.replies is None for p in retrieved.posts)
