from __future__ import annotations

import socket
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest

from content_miner.common.layout import DataLayout
from content_miner.pipeline.account import AccountRequest
from content_miner.pipeline.progress import report, reporting
from content_miner.pipeline.retrieval import retrieve
from content_miner.pipeline.scraping import ScrapeError, ScrapeSettings, default_providers, scrape
from content_miner.pipeline.scraping.x_api import TWEET_FIELDS, XApiProvider
from support.x_api import TOKEN, FakeXApi, api_post

PROVIDERS = default_providers()
NOW = datetime(2024, 6, 1, 12, 0, tzinfo=timezone.utc)


def timeline(count: int) -> list[dict]:
    """`count` distinct posts, newest first, one an hour before NOW."""
    return [
        api_post(str(10_000 + count - i), f"Post number {count - i} about topic {(count - i) * 7919}",
                 (NOW - timedelta(hours=i + 1)).strftime("%Y-%m-%dT%H:%M:%S.000Z"),
                 likes=i, reposts=1, replies=2, impressions=100 + i)
        for i in range(count)
    ]


def settings_for(api: FakeXApi, **overrides) -> ScrapeSettings:
    values = {"x_bearer_token": TOKEN, "x_api_base_url": api.base_url, "timeout_s": 5.0}
    values.update(overrides)
    return ScrapeSettings(**values)


def request(username: str = "nasa", **fields) -> AccountRequest:
    return AccountRequest(platform="twitter", username=username, **fields)


class FakeClock:
    """Epoch seconds that advance only when the provider sleeps."""

    def __init__(self, start: float) -> None:
        self.now = start
        self.sleeps: list[float] = []

    def time(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.now += seconds


def test_fetches_every_page_with_the_bearer_token(x_api: FakeXApi, tmp_path: Path) -> None:
    x_api.add_account("NASA", "11348282", timeline(250))
    result = scrape(
        request("nasa"), layout=DataLayout(tmp_path), providers=PROVIDERS, settings=settings_for(x_api), now=NOW
    )
    assert result.provider == "x-api-v2" and result.fetched_at == NOW
    assert len(result.posts) == 250 and len({post.id for post in result.posts}) == 250
    assert all(r.authorization == f"Bearer {TOKEN}" for r in x_api.requests)
    assert x_api.requests[0].path == "/2/users/by/username/nasa"
    pages = x_api.posts_requests()
    assert [r.path for r in pages] == ["/2/users/11348282/tweets"] * 3
    assert all(r.query["tweet.fields"] == TWEET_FIELDS for r in pages)
    formats = {"created_at", "public_metrics", "referenced_tweets", "attachments", "entities"}
    assert formats <= set(TWEET_FIELDS.split(","))
    assert all(r.query["max_results"] == "100" for r in pages)
    assert "pagination_token" not in pages[0].query
    assert pages[1].query["pagination_token"]
    assert pages[2].query["pagination_token"] != pages[1].query["pagination_token"]
    newest = result.posts[0]
    assert (newest.id, newest.likes, newest.reposts, newest.replies, newest.views) == ("10250", 0, 1, 2, 100)
    retrieved = retrieve(result)
    assert len(retrieved.posts) == 250 and retrieved.posts[0].id == "10001"  # oldest first
    assert retrieved.posts[-1].created_at == NOW - timedelta(hours=1)


def test_each_page_moves_the_stage_progress_toward_the_account_post_count(x_api: FakeXApi, tmp_path: Path) -> None:
    x_api.add_account("NASA", "11348282", timeline(250))
    seen: list[tuple[int, int]] = []
    with reporting(lambda done, total: seen.append((done, total))):
        scrape(request("nasa"), layout=DataLayout(tmp_path), providers=PROVIDERS, settings=settings_for(x_api),
               now=NOW)
    assert x_api.requests[0].query["user.fields"] == "public_metrics"
    assert seen == [(100, 250), (200, 250), (250, 250)]
    seen.clear()
    with reporting(lambda done, total: seen.append((done, total))):  # fewer wanted than the account has
        scrape(request("nasa", max_posts=120, force_fresh=True), layout=DataLayout(tmp_path), providers=PROVIDERS,
               settings=settings_for(x_api), now=NOW)
    assert seen == [(100, 120), (120, 120)]
    report(1, 2)  # outside a stage: nowhere to go, and no error


def test_max_posts_limits_what_is_fetched(x_api: FakeXApi, tmp_path: Path) -> None:
    x_api.add_account("nasa", "1", timeline(250))
    result = scrape(
        request(max_posts=102), layout=DataLayout(tmp_path), providers=PROVIDERS, settings=settings_for(x_api), now=NOW
    )
    assert len(result.posts) == 102
    assert [r.query["max_results"] for r in x_api.posts_requests()] == ["100", "5"]  # API minimum 5


def test_account_without_posts(x_api: FakeXApi, tmp_path: Path) -> None:
    x_api.add_account("quiet", "5", [])
    result = scrape(
        request("quiet"), layout=DataLayout(tmp_path), providers=PROVIDERS, settings=settings_for(x_api), now=NOW
    )
    assert result.posts == ()


def test_unknown_user_has_the_exact_message(x_api: FakeXApi, tmp_path: Path) -> None:
    with pytest.raises(ScrapeError) as caught:
        scrape(
            request("nobody_here"),
            layout=DataLayout(tmp_path),
            providers=PROVIDERS,
            settings=settings_for(x_api),
            now=NOW,
        )
    assert str(caught.value) == "Failed to scrape profile: user not found"
    assert x_api.posts_requests() == []


def test_wrong_token_is_a_401(x_api: FakeXApi, tmp_path: Path) -> None:
    x_api.add_account("nasa", "1", timeline(5))
    with pytest.raises(ScrapeError) as caught:
        scrape(
            request(),
            layout=DataLayout(tmp_path),
            providers=PROVIDERS,
            settings=settings_for(x_api, x_bearer_token="wrong"),
            now=NOW,
        )
    assert str(caught.value) == "Failed to scrape profile: the X API rejected the bearer token (HTTP 401)"
    assert x_api.requests[0].authorization == "Bearer wrong"


def test_no_token_fails_before_any_request(x_api: FakeXApi, tmp_path: Path) -> None:
    with pytest.raises(ScrapeError, match=r"^Failed to scrape profile: no X API bearer token \(set X_BEARER_TOKEN\)$"):
        scrape(
            request(),
            layout=DataLayout(tmp_path),
            providers=PROVIDERS,
            settings=settings_for(x_api, x_bearer_token=None),
            now=NOW,
        )
    assert x_api.requests == []


def test_rate_limit_within_the_max_wait_is_waited_out(x_api: FakeXApi) -> None:
    x_api.add_account("nasa", "1", timeline(150))
    clock = FakeClock(start=1_717_243_200)
    x_api.rate_limit_resets = [1_717_243_200 + 30]  # the first request hits the limit
    provider = XApiProvider(settings_for(x_api, max_rate_limit_wait_s=60), sleep=clock.sleep, clock=clock.time)
    result = provider.fetch(request(), now=NOW)
    assert len(result.posts) == 150
    assert clock.sleeps == [31.0]  # until the reset, plus a second for the header's resolution
    assert [r.path for r in x_api.requests[:2]] == ["/2/users/by/username/nasa"] * 2


def test_rate_limit_beyond_the_max_wait_fails_clearly(x_api: FakeXApi) -> None:
    x_api.add_account("nasa", "1", timeline(150))
    clock = FakeClock(start=1_717_243_200)
    x_api.rate_limit_resets = [1_717_243_200 + 900]
    provider = XApiProvider(settings_for(x_api, max_rate_limit_wait_s=60), sleep=clock.sleep, clock=clock.time)
    with pytest.raises(ScrapeError) as caught:
        provider.fetch(request(), now=NOW)
    assert str(caught.value) == (
        "Failed to scrape profile: X API rate limit reached; it resets at 2024-06-01T12:15:00Z, "
        "in 901 s, more than the 60 s allowed by X_API_MAX_RATE_LIMIT_WAIT_S"
    )
    assert clock.sleeps == []


def test_rate_limit_on_a_later_page_resumes_the_same_page(x_api: FakeXApi) -> None:
    x_api.add_account("nasa", "1", timeline(150))
    clock = FakeClock(start=1_717_243_200)
    provider = XApiProvider(settings_for(x_api), sleep=clock.sleep, clock=clock.time)
    original = x_api.answer

    def limit_second_page(handler):
        if "pagination_token" in handler.path and not clock.sleeps:
            x_api.rate_limit_resets.append(int(clock.now) - 5)  # already past: retry at once
        return original(handler)

    x_api.answer = limit_second_page  # type: ignore[method-assign]
    result = provider.fetch(request(), now=NOW)
    assert len(result.posts) == 150 and len({p.id for p in result.posts}) == 150
    assert clock.sleeps == [1.0]
    tokens = [r.query.get("pagination_token") for r in x_api.posts_requests()]
    assert tokens[0] is None and tokens[1] == tokens[2] is not None


def test_rate_limit_without_reset_header(x_api: FakeXApi, tmp_path: Path) -> None:
    x_api.raw_answers = [(429, b'{"title": "Too Many Requests", "status": 429}')]
    with pytest.raises(ScrapeError, match="no usable x-rate-limit-reset header"):
        scrape(request(), layout=DataLayout(tmp_path), providers=PROVIDERS, settings=settings_for(x_api), now=NOW)


def test_protected_posts(x_api: FakeXApi, tmp_path: Path) -> None:
    x_api.add_account("secret", "77", timeline(5))
    x_api.protected.add("77")
    with pytest.raises(ScrapeError, match="^Failed to scrape profile: the account's posts are protected$"):
        scrape(
            request("secret"), layout=DataLayout(tmp_path), providers=PROVIDERS, settings=settings_for(x_api), now=NOW
        )


def test_suspended_user(x_api: FakeXApi, tmp_path: Path) -> None:
    x_api.raw_answers = [(200, b'{"errors": [{"value": "bad", "detail": "User has been suspended: [bad].", '
                               b'"title": "Forbidden", "resource_type": "user", "parameter": "username", '
                               b'"resource_id": "bad", "type": "https://api.twitter.com/2/problems/resource-not-found"}]}')]
    with pytest.raises(ScrapeError, match="^Failed to scrape profile: user suspended$"):
        scrape(request("bad"), layout=DataLayout(tmp_path), providers=PROVIDERS, settings=settings_for(x_api), now=NOW)


@pytest.mark.parametrize(
    ("status", "body", "reason"),
    [
        (503, b'{"title": "Service Unavailable", "detail": "Service Unavailable", "status": 503}',
         "Failed to scrape profile: the X API answered HTTP 503: Service Unavailable"),
        (500, b"<html>oops</html>", "Failed to scrape profile: the X API answered HTTP 500: Internal Server Error"),
        (200, b"{not json", "Failed to scrape profile: the X API answered with malformed JSON"),
        (200, b'{"data": {"name": "no id"}}', "Failed to scrape profile: malformed user lookup response"),
    ],
)
def test_server_errors(x_api: FakeXApi, tmp_path: Path, status: int, body: bytes, reason: str) -> None:
    x_api.raw_answers = [(status, body)]
    with pytest.raises(ScrapeError) as caught:
        scrape(request(), layout=DataLayout(tmp_path), providers=PROVIDERS, settings=settings_for(x_api), now=NOW)
    assert str(caught.value).startswith(reason)


def test_unreachable_api(tmp_path: Path) -> None:
    with socket.socket() as probe:  # a port with nothing listening
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    settings = ScrapeSettings(x_bearer_token=TOKEN, x_api_base_url=f"http://127.0.0.1:{port}/2")
    with pytest.raises(ScrapeError, match=r"^Failed to scrape profile: cannot reach the X API at http://127\.0\.0\.1"):
        scrape(request(), layout=DataLayout(tmp_path), providers=PROVIDERS, settings=settings, now=NOW)
    assert not (tmp_path / "raw_cache").exists()


def test_no_source_picks_the_live_provider() -> None:
    assert isinstance(PROVIDERS.provider_for(request(), ScrapeSettings()), XApiProvider)


def test_settings_from_environment() -> None:
    settings = ScrapeSettings.from_env({
        "X_BEARER_TOKEN": " abc ", "X_API_BASE_URL": "http://127.0.0.1:9/2",
        "X_API_TIMEOUT_S": "3.5", "X_API_MAX_RATE_LIMIT_WAIT_S": "0", "RAW_CACHE_MAX_AGE_HOURS": "2",
    })
    assert settings.x_bearer_token == "abc" and settings.x_api_base_url == "http://127.0.0.1:9/2"
    assert (settings.timeout_s, settings.max_rate_limit_wait_s) == (3.5, 0.0)
    assert settings.cache_max_age == timedelta(hours=2)
    assert "abc" not in repr(settings)
    defaults = ScrapeSettings.from_env({})
    assert defaults.x_api_base_url == "https://api.x.com/2" and defaults.x_bearer_token is None
    assert defaults.cache_max_age == timedelta(hours=24)
    with pytest.raises(ScrapeError, match=r"^X_API_TIMEOUT_S must be a number > 0, got 'soon'$"):
        ScrapeSettings.from_env({"X_API_TIMEOUT_S": "soon"})
