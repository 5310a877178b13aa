"""Live provider: the X API v2 with an app-only bearer token.

Two endpoints: `GET /2/users/by/username/:username` for the user's id, then
`GET /2/users/:id/tweets` (newest first, at most 100 a page, paged by `meta.next_token` sent back
as `pagination_token`; the API serves about the latest 3,200 posts). Every failure becomes a
ScrapeError starting "Failed to scrape profile: ", the operator's log line for Stage 1.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from datetime import datetime, timezone
from typing import Any

import httpx

from content_miner.pipeline.account import AccountRequest
from content_miner.pipeline.models import RawPost, ScrapeResult
from content_miner.pipeline.progress import report
from content_miner.pipeline.scraping.base import Provider, ScrapeError
from content_miner.pipeline.scraping.settings import (
    BEARER_TOKEN_ENV,
    MAX_RATE_LIMIT_WAIT_ENV,
    ScrapeSettings,
)

logger = logging.getLogger(__name__)

FAILED = "Failed to scrape profile"
USER_NOT_FOUND = f"{FAILED}: user not found"
# The format fields (replies, quotes, media, links) carry the strongest engagement signals.
TWEET_FIELDS = "created_at,public_metrics,referenced_tweets,attachments,entities,in_reply_to_user_id"
PAGE_MAX, PAGE_MIN = 100, 5  # the endpoint's bounds for max_results
TIMELINE_MAX = 3200  # the timeline endpoint serves about the latest 3,200 posts
RATE_LIMIT_RETRIES = 3
USER_AGENT = "content-recommendation-miner"
RESET_MARGIN_S = 1.0  # the reset header has one-second resolution; do not retry a moment early


class XApiProvider(Provider):
    name = "x-api-v2"

    def __init__(
        self,
        settings: ScrapeSettings,
        *,
        sleep: Callable[[float], None] = time.sleep,
        clock: Callable[[], float] = time.time,
        transport: httpx.BaseTransport | None = None,
    ) -> None:
        self._settings = settings
        self._sleep = sleep  # injectable, so tests of rate limiting never really wait
        self._clock = clock
        self._transport = transport

    def fetch(self, request: AccountRequest, *, now: datetime) -> ScrapeResult:
        token = self._settings.x_bearer_token
        if not token:
            raise ScrapeError(f"{FAILED}: no X API bearer token (set {BEARER_TOKEN_ENV})")
        with httpx.Client(
            base_url=self._settings.x_api_base_url,
            headers={"Authorization": f"Bearer {token}", "User-Agent": USER_AGENT},
            timeout=self._settings.timeout_s,
            transport=self._transport,
        ) as client:
            user_id, count = self._user(client, request.username)
            expected = min(value for value in (count, request.max_posts, TIMELINE_MAX) if value is not None)
            posts = self._posts(client, user_id, request.max_posts, expected)
        logger.debug("X API: %d posts for %s", len(posts), request.username)
        return ScrapeResult(
            platform=request.platform,
            username=request.username,
            posts=tuple(posts),
            provider=self.name,
            fetched_at=now,
        )

    def _user(self, client: httpx.Client, username: str) -> tuple[str, int | None]:
        """The user's id, and how many posts they have (for Stage 1's progress) when the API says."""
        # `username` passed AccountRequest's rules ([A-Za-z0-9_]{1,15}): safe in a URL path.
        body = self._get(client, f"/users/by/username/{username}", {"user.fields": "public_metrics"})
        data = body.get("data")
        if isinstance(data, dict) and isinstance(data.get("id"), str) and data["id"].isdigit():
            metrics = data.get("public_metrics")
            count = metrics.get("tweet_count") if isinstance(metrics, dict) else None
            return data["id"], count if isinstance(count, int) and not isinstance(count, bool) and count > 0 else None
        if data is None:
            # An unknown username is HTTP 200 with an `errors` array and no `data`.
            if any("suspended" in _error_text(error).lower() for error in _errors(body)):
                raise ScrapeError(f"{FAILED}: user suspended")
            raise ScrapeError(USER_NOT_FOUND)
        raise ScrapeError(f"{FAILED}: malformed user lookup response from the X API")

    def _posts(self, client: httpx.Client, user_id: str, max_posts: int | None, expected: int) -> list[RawPost]:
        posts: list[RawPost] = []
        next_token: str | None = None
        seen_tokens: set[str] = set()
        while True:
            wanted = PAGE_MAX if max_posts is None else max_posts - len(posts)
            page_size = min(PAGE_MAX, max(PAGE_MIN, wanted))
            params = {"tweet.fields": TWEET_FIELDS, "max_results": page_size}
            if next_token:
                params["pagination_token"] = next_token
            body = self._get(client, f"/users/{user_id}/tweets", params)
            data = body.get("data")
            if data is None and _errors(body):
                raise ScrapeError(f"{FAILED}: {_posts_refusal(body)}")
            if not isinstance(data, list | None):
                raise ScrapeError(f"{FAILED}: malformed posts response from the X API")
            posts.extend(_raw_post(item, user_id) for item in data or [])
            report(len(posts), expected)
            if max_posts is not None and len(posts) >= max_posts:
                return posts[:max_posts]
            meta = body.get("meta")
            token = meta.get("next_token") if isinstance(meta, dict) else None
            next_token = token if isinstance(token, str) else None
            if not next_token:
                return posts
            if next_token in seen_tokens:
                logger.warning("X API repeated a page token; stopping at %d posts", len(posts))
                return posts
            seen_tokens.add(next_token)
            logger.debug("X API: %d posts so far, fetching the next page", len(posts))

    def _get(self, client: httpx.Client, path: str, params: dict[str, Any]) -> dict[str, Any]:
        for _attempt in range(RATE_LIMIT_RETRIES + 1):
            try:
                response = client.get(path, params=params)
            except httpx.TimeoutException:
                raise ScrapeError(
                    f"{FAILED}: the X API did not answer within {self._settings.timeout_s:g} s"
                ) from None
            except httpx.HTTPError as exc:
                raise ScrapeError(
                    f"{FAILED}: cannot reach the X API at {self._settings.x_api_base_url} "
                    f"({type(exc).__name__})"
                ) from None
            if response.status_code == 429:
                self._sleep(self._rate_limit_wait(response))
                continue
            if response.status_code == 401:
                raise ScrapeError(f"{FAILED}: the X API rejected the bearer token (HTTP 401)")
            if response.status_code != 200:
                status, problem = response.status_code, _problem(response)
                raise ScrapeError(f"{FAILED}: the X API answered HTTP {status}: {problem}")
            try:
                body = response.json()
            except ValueError:
                body = None
            if not isinstance(body, dict):
                raise ScrapeError(f"{FAILED}: the X API answered with malformed JSON")
            return body
        raise ScrapeError(
            f"{FAILED}: the X API is still rate limited after {RATE_LIMIT_RETRIES} waits"
        )

    def _rate_limit_wait(self, response: httpx.Response) -> float:
        """Seconds to wait for the limit to reset, if within the allowed wait; else ScrapeError."""
        raw = response.headers.get("x-rate-limit-reset", "").strip()
        if not raw.isdigit():
            raise ScrapeError(
                f"{FAILED}: X API rate limit reached (no usable x-rate-limit-reset header)"
            )
        reset_at = int(raw)
        wait = max(0.0, reset_at - self._clock()) + RESET_MARGIN_S
        if wait > self._settings.max_rate_limit_wait_s:
            when = datetime.fromtimestamp(reset_at, tz=timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")
            raise ScrapeError(
                f"{FAILED}: X API rate limit reached; it resets at {when}, in {wait:.0f} s, "
                f"more than the {self._settings.max_rate_limit_wait_s:g} s allowed by "
                f"{MAX_RATE_LIMIT_WAIT_ENV}"
            )
        logger.warning("X API rate limit reached; waiting %.0f s for the reset", wait)
        return wait


def _raw_post(item: Any, user_id: str) -> RawPost:
    if not isinstance(item, dict):
        raise ScrapeError(f"{FAILED}: malformed post in the X API response")
    found_metrics, text, created_at = item.get("public_metrics"), item.get("text"), item.get("created_at")
    metrics: dict[str, Any] = found_metrics if isinstance(found_metrics, dict) else {}
    referenced = item.get("referenced_tweets")
    references = referenced if isinstance(referenced, list) else []
    kinds = {str(ref.get("type")) for ref in references if isinstance(ref, dict)}
    attachments, entities = item.get("attachments"), item.get("entities")
    urls = entities.get("urls") if isinstance(entities, dict) else None
    links = [u for u in urls if isinstance(u, dict) and not u.get("media_key")] if isinstance(urls, list) else []
    replied = "replied_to" in kinds
    own_thread = replied and str(item.get("in_reply_to_user_id") or "") == user_id
    return RawPost(
        id=str(item.get("id") or ""),
        text=text if isinstance(text, str) else "",
        created_at=created_at if isinstance(created_at, str) else "",
        likes=metrics.get("like_count"),  # None when absent: Stage 2 counts it as missing
        reposts=metrics.get("retweet_count"),
        replies=metrics.get("reply_count"),
        views=metrics.get("impression_count"),
        is_reply=replied and not own_thread,
        is_thread=own_thread,
        is_quote="quoted" in kinds,
        has_media=bool(isinstance(attachments, dict) and attachments.get("media_keys")),
        has_link=any("/status/" not in str(u.get("expanded_url") or u.get("url") or "") for u in links),
        is_repost="retweeted" in kinds,
    )


def _errors(body: dict[str, Any]) -> list[dict[str, Any]]:
    errors = body.get("errors")
    if not isinstance(errors, list):
        return []
    return [error for error in errors if isinstance(error, dict)]


def _error_text(error: dict[str, Any]) -> str:
    return " ".join(str(error.get(key, "")) for key in ("title", "detail", "type"))


def _posts_refusal(body: dict[str, Any]) -> str:
    texts = [_error_text(error) for error in _errors(body)]
    if any("not-authorized" in text or "Authorization Error" in text for text in texts):
        return "the account's posts are protected"
    first = _errors(body)[0]
    return str(first.get("detail") or first.get("title") or "the X API returned an error")[:160]


def _problem(response: httpx.Response) -> str:
    """The API's problem detail (`detail`, else `title`), or the HTTP reason phrase."""
    try:
        body = response.json()
    except ValueError:
        body = None
    if isinstance(body, dict):
        detail = body.get("detail") or body.get("title")
        if detail:
            return str(detail)[:160]
    return response.reason_phrase or "no details"
