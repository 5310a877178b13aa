"""A local stand-in for the X API v2, for tests: a real HTTP server on 127.0.0.1.

It answers the two endpoints the live provider uses with the shapes the real API uses (data /
errors / meta objects, problem-details error bodies, rate-limit headers) and records every request
so tests can check paths, query parameters and the Authorization header.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlsplit

TOKEN = "test-bearer-token"


def api_post(post_id: str, text: str, created_at: str, likes: int = 0, reposts: int = 0,
             replies: int = 0, impressions: int = 0) -> dict:
    """A post object as `GET /2/users/:id/tweets?tweet.fields=created_at,public_metrics` has it."""
    return {
        "id": post_id,
        "text": text,
        "edit_history_tweet_ids": [post_id],
        "created_at": created_at,
        "public_metrics": {
            "retweet_count": reposts, "reply_count": replies, "like_count": likes,
            "quote_count": 0, "bookmark_count": 0, "impression_count": impressions,
        },
    }


@dataclass
class Recorded:
    path: str
    query: dict[str, str]
    authorization: str | None


@dataclass
class FakeXApi:
    base_url: str = ""
    users: dict[str, tuple[str, str]] = field(default_factory=dict)  # lower name -> (id, name)
    timelines: dict[str, list[dict]] = field(default_factory=dict)  # user id -> posts, newest first
    protected: set[str] = field(default_factory=set)  # user ids whose posts are not visible
    rate_limit_resets: list[int] = field(default_factory=list)  # each answers one request with 429
    raw_answers: list[tuple[int, bytes]] = field(default_factory=list)  # canned (status, body)
    requests: list[Recorded] = field(default_factory=list)
    _tokens: dict[str, int] = field(default_factory=dict)

    def add_account(self, username: str, user_id: str, posts: list[dict]) -> None:
        self.users[username.lower()] = (user_id, username)
        self.timelines[user_id] = posts

    def answer(self, handler: BaseHTTPRequestHandler) -> tuple[int, dict | bytes, dict[str, str]]:
        url = urlsplit(handler.path)
        query = {key: values[-1] for key, values in parse_qs(url.query).items()}
        auth = handler.headers.get("Authorization")
        self.requests.append(Recorded(url.path, query, auth))
        if auth != f"Bearer {TOKEN}":
            return 401, {"title": "Unauthorized", "type": "about:blank", "status": 401,
                         "detail": "Unauthorized"}, {}
        if self.rate_limit_resets:
            reset = self.rate_limit_resets.pop(0)
            headers = {"x-rate-limit-limit": "900", "x-rate-limit-remaining": "0",
                       "x-rate-limit-reset": str(reset)}
            return 429, {"title": "Too Many Requests", "detail": "Too Many Requests",
                         "type": "about:blank", "status": 429}, headers
        if self.raw_answers:
            status, body = self.raw_answers.pop(0)
            return status, body, {}
        parts = url.path.strip("/").split("/")
        if parts[:3] == ["2", "users", "by"] and len(parts) == 5 and parts[3] == "username":
            return 200, self._user(parts[4], query), {}
        if parts[:2] == ["2", "users"] and len(parts) == 4 and parts[3] == "tweets":
            return self._timeline(parts[2], query)
        return 404, {"title": "Not Found Error", "type": "about:blank", "status": 404,
                     "detail": "Not Found"}, {}

    def _user(self, username: str, query: dict[str, str]) -> dict:
        if username.lower() not in self.users:
            # The real API: HTTP 200, an `errors` array and no `data`.
            return {"errors": [{
                "value": username, "detail": f"Could not find user with username: [{username}].",
                "title": "Not Found Error", "resource_type": "user", "parameter": "username",
                "resource_id": username,
                "type": "https://api.twitter.com/2/problems/resource-not-found",
            }]}
        user_id, name = self.users[username.lower()]
        user = {"id": user_id, "name": name.title(), "username": name}
        if "public_metrics" in query.get("user.fields", "").split(","):  # only on request, as the real API
            user["public_metrics"] = {"followers_count": 0, "following_count": 0, "listed_count": 0,
                                      "tweet_count": len(self.timelines.get(user_id, []))}
        return {"data": user}

    def _timeline(self, user_id: str, query: dict[str, str]) -> tuple[int, dict, dict[str, str]]:
        size = int(query.get("max_results", "10"))
        if not 5 <= size <= 100:
            return 400, {"errors": [{"parameters": {"max_results": [str(size)]},
                                     "message": f"The `max_results` query parameter value [{size}] "
                                                "is not between 5 and 100"}],
                         "title": "Invalid Request", "status": 400,
                         "detail": "One or more parameters to your request was invalid.",
                         "type": "https://api.twitter.com/2/problems/invalid-request"}, {}
        if user_id in self.protected:
            return 200, {"errors": [{
                "resource_id": user_id, "parameter": "id", "resource_type": "user",
                "section": "data", "title": "Authorization Error", "value": user_id,
                "detail": f"Sorry, you are not authorized to see the user with id: [{user_id}].",
                "type": "https://api.twitter.com/2/problems/not-authorized-for-resource",
            }]}, {}
        start = self._tokens.get(query.get("pagination_token", ""), 0)
        fields = set(query.get("tweet.fields", "").split(","))
        page = [self._with_fields(post, fields) for post in self.timelines.get(user_id, [])[start:start + size]]
        if not page:
            return 200, {"meta": {"result_count": 0}}, {}
        meta: dict = {"result_count": len(page), "newest_id": page[0]["id"], "oldest_id": page[-1]["id"]}
        if start + size < len(self.timelines[user_id]):
            token = hashlib.sha1(f"{user_id}:{start + size}".encode()).hexdigest()[:26]
            self._tokens[token] = start + size
            meta["next_token"] = token
        return 200, {"data": page, "meta": meta}, {}

    @staticmethod
    def _with_fields(post: dict, fields: set[str]) -> dict:
        # Like the real API: id, text and edit_history_tweet_ids always; the rest only on request.
        return {key: value for key, value in post.items()
                if key in ("id", "text", "edit_history_tweet_ids") or key in fields}

    def posts_requests(self) -> list[Recorded]:
        return [request for request in self.requests if request.path.endswith("/tweets")]


def _handler_for(api: FakeXApi) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:  # noqa: N802 (http.server's naming)
            status, body, headers = api.answer(self)
            payload = body if isinstance(body, bytes) else json.dumps(body).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json; charset=utf-8")
            self.send_header("Content-Length", str(len(payload)))
            for name, value in headers.items():
                self.send_header(name, value)
            self.end_headers()
            self.wfile.write(payload)

        def log_message(self, format: str, *args: object) -> None:  # noqa: A002
            pass  # keep test output clean

    return Handler


@contextlib.contextmanager
def serve_x_api() -> Iterator[FakeXApi]:
    """A FakeXApi serving on a free port of 127.0.0.1 until the block ends."""
    api = FakeXApi()
    server = ThreadingHTTPServer(("127.0.0.1", 0), _handler_for(api))
    api.base_url = f"http://127.0.0.1:{server.server_address[1]}/2"
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True)
    thread.start()
    try:
        yield api
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)
