from __future__ import annotations

import json
import logging
import shutil
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest

from content_miner.common.account import AccountKey
from content_miner.common.layout import DataLayout
from content_miner.pipeline.account import AccountRequest
from content_miner.pipeline.scraping import RawCache, ScrapeSettings, default_providers, scrape
from support.x_api import TOKEN, FakeXApi, api_post

FIXTURES = Path(__file__).parents[1] / "fixtures" / "ingest"
PROVIDERS = default_providers()
NOW = datetime(2024, 6, 1, 12, 0, tzinfo=timezone.utc)


@pytest.fixture
def live(x_api: FakeXApi) -> FakeXApi:
    x_api.add_account("NASA", "11348282", [
        api_post(str(100 - i), f"Distinct post {i} on mission {i * 31}", f"2024-05-{20 - i:02d}T10:00:00.000Z", likes=i)
        for i in range(12)
    ])
    return x_api


def run(api: FakeXApi, data_dir: Path, now: datetime = NOW, **fields) -> object:
    settings = ScrapeSettings(x_bearer_token=TOKEN, x_api_base_url=api.base_url,
                              cache_max_age=fields.pop("max_age", timedelta(hours=24)))
    request = AccountRequest(platform="twitter", username=fields.pop("username", "nasa"), **fields)
    return scrape(request, layout=DataLayout(data_dir), providers=PROVIDERS, settings=settings, now=now)


def test_second_scrape_is_served_from_the_cache_without_network(live: FakeXApi, tmp_path: Path) -> None:
    first = run(live, tmp_path)
    calls = len(live.requests)
    second = run(live, tmp_path, now=NOW + timedelta(hours=23))
    assert len(live.requests) == calls
    assert not first.from_cache and second.from_cache
    assert second.posts == first.posts
    assert (second.provider, second.fetched_at) == ("x-api-v2", NOW)


def test_cache_file_location_and_format(live: FakeXApi, tmp_path: Path) -> None:
    run(live, tmp_path, username="NaSa")
    path = tmp_path / "raw_cache" / "twitter" / "nasa.json"
    assert sorted(p.name for p in path.parent.iterdir()) == ["nasa.json"]  # no temp files left
    document = json.loads(path.read_text())
    assert document["provider"] == "x-api-v2" and document["fetched_at"] == "2024-06-01T12:00:00Z"
    assert len(document["posts"]) == 12 and document["posts"][0]["id"] == "100"
    assert RawCache(DataLayout(tmp_path)).path_for(AccountKey.parse("x", "@NASA")) == path


def test_force_fresh_scrapes_again_and_replaces_the_cache(live: FakeXApi, tmp_path: Path) -> None:
    run(live, tmp_path)
    live.timelines["11348282"].insert(0, api_post("101", "Brand new post", "2024-05-31T10:00:00.000Z"))
    result = run(live, tmp_path, now=NOW + timedelta(minutes=5), force_fresh=True)
    assert not result.from_cache and result.posts[0].id == "101"
    cached = run(live, tmp_path, now=NOW + timedelta(minutes=10))
    assert cached.from_cache and cached.posts[0].id == "101" and cached.fetched_at == NOW + timedelta(minutes=5)


def test_stale_cache_is_refreshed(live: FakeXApi, tmp_path: Path) -> None:
    run(live, tmp_path)
    calls = len(live.requests)
    result = run(live, tmp_path, now=NOW + timedelta(hours=24, seconds=1))
    assert not result.from_cache and len(live.requests) > calls


def test_max_age_is_configurable(live: FakeXApi, tmp_path: Path) -> None:
    run(live, tmp_path)
    assert not run(live, tmp_path, now=NOW + timedelta(hours=2), max_age=timedelta(hours=1)).from_cache
    assert run(live, tmp_path, now=NOW + timedelta(hours=2, minutes=30), max_age=timedelta(hours=1)).from_cache


def test_cache_from_the_future_is_not_trusted(live: FakeXApi, tmp_path: Path) -> None:
    run(live, tmp_path)
    assert not run(live, tmp_path, now=NOW - timedelta(hours=1)).from_cache


def test_a_smaller_earlier_fetch_is_not_reused_for_a_bigger_request(live: FakeXApi, tmp_path: Path) -> None:
    assert len(run(live, tmp_path, max_posts=5).posts) == 5
    assert run(live, tmp_path, max_posts=5).from_cache
    bigger = run(live, tmp_path, max_posts=10)
    assert not bigger.from_cache and len(bigger.posts) == 10
    assert run(live, tmp_path, max_posts=3).from_cache  # ten cached posts cover three


@pytest.mark.parametrize("damage", [b"", b"{", b'{"format_version": 99}', b"\xff\xfe\x00"])
def test_a_damaged_cache_is_a_miss_not_an_error(
    live: FakeXApi, tmp_path: Path, damage: bytes, caplog: pytest.LogCaptureFixture
) -> None:
    run(live, tmp_path)
    path = tmp_path / "raw_cache" / "twitter" / "nasa.json"
    path.write_bytes(damage)
    with caplog.at_level(logging.WARNING, logger="content_miner.pipeline.scraping.cache"):
        result = run(live, tmp_path)
    assert not result.from_cache and len(result.posts) == 12
    assert "Ignoring unreadable raw cache" in caplog.text
    assert json.loads(path.read_text())["posts"]  # rewritten whole


def test_a_changed_source_file_is_imported_again(tmp_path: Path) -> None:
    source = Path(shutil.copy(FIXTURES / "posts.jsonl", tmp_path / "posts.jsonl"))
    request = AccountRequest(platform="twitter", username="acme", source=str(source))
    data_dir = tmp_path / "data"
    layout = DataLayout(data_dir)
    assert not scrape(request, layout=layout, providers=PROVIDERS, settings=ScrapeSettings(), now=NOW).from_cache
    assert scrape(request, layout=layout, providers=PROVIDERS, settings=ScrapeSettings(), now=NOW).from_cache
    with source.open("a") as handle:
        handle.write('{"id": "p9", "text": "added", "created_at": "2024-03-09T10:00:00Z", '
                     '"likes": 1, "reposts": 0, "replies": 0}\n')
    again = scrape(request, layout=layout, providers=PROVIDERS, settings=ScrapeSettings(), now=NOW)
    assert not again.from_cache and again.posts[-1].id == "p9"


def test_an_unwritable_cache_does_not_fail_the_scrape(
    live: FakeXApi, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    (tmp_path / "raw_cache").write_text("a file where the cache directory should be")
    with caplog.at_level(logging.WARNING, logger="content_miner.pipeline.scraping.stage"):
        result = run(live, tmp_path)
    assert len(result.posts) == 12
    assert "Could not write the raw cache for nasa" in caplog.text


def test_naive_now_is_refused(live: FakeXApi, tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="timezone-aware"):
        run(live, tmp_path, now=datetime(2024, 6, 1, 12, 0))
