"""The dashboard's HTTP side: one page, its assets, a read-only JSON API and one event stream.

    GET /                        the page (its five views are client-side routes: #/overview ...)
    GET /assets/<file>           its script, styles (shipped in the package; no CDN)
    GET /api/overview            modules, status line, queue, axon traffic, accounts by state
    GET /api/accounts            ?q= &state= &sort= &order= &offset= &limit=  (a page of rows)
    GET /api/accounts/<name>     one account: its row, runs (Gantt), failures, files
    GET /api/accounts/<name>/plan?platform=   its plan, rendered
    GET /api/events              ?before= &limit= &source= &account= &status=  (newest first)
    GET /api/analytics           ?since=24h
    GET /api/stream              server-sent events: events, accounts, overview, reload
    GET /files/<exports|images>/<platform>/<name>/<file>.png

Only GET and HEAD; everything else is 405. Bad parameters get 400 with a fixed message (nothing
of the request is echoed or logged). `Access` decides who may see any of it (401 otherwise).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import re
from collections.abc import AsyncIterator, Awaitable, Callable, MutableMapping
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, urlencode

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import FileResponse, JSONResponse, Response, StreamingResponse
from starlette.routing import Mount, Route
from starlette.staticfiles import StaticFiles

from content_miner.common.account import AccountKey, InvalidAccount
from content_miner.tracker.read_only import LogUnreadable
from content_miner.tracker.stages import STATUSES

from . import files
from .access import Access
from .accounts import SORT_KEYS, sort_rows
from .history import BadWindow, HistoryCache
from .hub import LiveHub, TooManyViewers, sse, to_json
from .queries import MAX_PAGE, EventFilter, account_events, account_exists, events_page, running_stages
from .timeline import failures_of, runs_json, runs_of

log = logging.getLogger("content_miner.dashboard")

ASSETS = Path(__file__).with_name("assets")
USERNAME = re.compile(r"[A-Za-z0-9_.-]{1,100}")
SOURCE = re.compile(r"[A-Za-z0-9_.-]{1,60}")
MAX_QUERY_CHARS = 64
QUEUE_SIZE = 256  # messages waiting for one page; past it the page is disconnected (it reloads)
KEEP_ALIVE_S = 15.0
SECURITY_HEADERS = [
    (b"content-security-policy", b"default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
                                 b"connect-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'"),
    (b"x-content-type-options", b"nosniff"),
    (b"referrer-policy", b"no-referrer"),
    (b"x-frame-options", b"DENY"),
    (b"cross-origin-resource-policy", b"same-origin"),
]
NEEDS_TOKEN = ("This dashboard needs its access token. Open it once as /?token=YOUR_TOKEN (the browser keeps a "
               "cookie), or send 'Authorization: Bearer YOUR_TOKEN'.")
OPEN_HOSTS_ONLY = "This dashboard answers only at a loopback address (127.0.0.1, localhost, [::1])."

Scope = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[MutableMapping[str, Any]]]
Send = Callable[[MutableMapping[str, Any]], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]


class BadParameter(Exception):
    pass


def _error(status: int, message: str) -> JSONResponse:
    return JSONResponse({"error": message}, status_code=status, headers={"cache-control": "no-store"})


def _int(request: Request, name: str, default: int | None, low: int, high: int) -> int | None:
    text = request.query_params.get(name)
    if text is None or text == "":
        return default
    if not text.isdigit() or len(text) > 12:
        raise BadParameter(f"{name} must be a whole number {low}-{high}")
    value = int(text)
    if not low <= value <= high:
        raise BadParameter(f"{name} must be a whole number {low}-{high}")
    return value


def _text(request: Request, name: str, pattern: re.Pattern[str] | None = None) -> str | None:
    text = request.query_params.get(name)
    if text is None or text == "":
        return None
    if len(text) > MAX_QUERY_CHARS or (pattern is not None and not pattern.fullmatch(text)):
        raise BadParameter(f"{name} is not a valid value")
    return text


def _username(value: str) -> str:
    if not USERNAME.fullmatch(value):
        raise BadParameter("not an account name")
    return value


class Dashboard:
    """The routes, over a hub (live state) and a history cache (analytics)."""

    def __init__(self, hub: LiveHub, history: HistoryCache) -> None:
        self.hub = hub
        self.history = history
        self.sources = hub.sources

    # -- pages and data -------------------------------------------------------------------------

    def index(self, request: Request) -> Response:
        return FileResponse(ASSETS / "index.html", headers={"cache-control": "no-store"})

    def overview(self, request: Request) -> Response:
        return JSONResponse(self.hub.overview(), headers={"cache-control": "no-store"})

    def accounts(self, request: Request) -> Response:
        query = (_text(request, "q") or "").lower()
        state = _text(request, "state", re.compile(r"[a-z]{1,20}"))
        sort = _text(request, "sort") or "since"
        if sort not in SORT_KEYS:
            raise BadParameter(f"sort must be one of {', '.join(SORT_KEYS)}")
        order = _text(request, "order") or "desc"
        if order not in ("asc", "desc"):
            raise BadParameter("order must be asc or desc")
        offset = _int(request, "offset", 0, 0, 10**9) or 0
        limit = _int(request, "limit", 100, 1, MAX_PAGE) or 100
        every = self.hub.accounts()  # one refresh's rows, for the total and the page alike
        rows = list(every.values())
        if query:
            rows = [row for row in rows if query in row["username"].lower()]
        if state in ("stalled", "crashed"):
            rows = [row for row in rows if row[state]]
        elif state:
            rows = [row for row in rows if row["state"] == state]
        ordered = sort_rows(rows, sort, order == "desc")
        return JSONResponse({"total": len(every), "matched": len(ordered), "offset": offset,
                             "limit": limit, "rows": ordered[offset:offset + limit]},
                            headers={"cache-control": "no-store"})

    def account(self, request: Request) -> Response:
        username = _username(request.path_params["username"])
        events, running = self.sources.read_log(lambda db: (account_events(db, username),
                                                            running_stages(db, username)))  # one view of the log
        row = self.hub.accounts().get(username)
        if row is None and not events and not self.sources.read_log(lambda db: account_exists(db, username)):
            return _error(404, "no such account in the stage log")
        return JSONResponse({
            "username": username, "row": row, "runs": runs_json(runs_of(events, running_now=running)),
            "failures": failures_of(events), "files": files.account_files(self.sources.layout, username),
            "events_read": len(events), "time": self.sources.now(),
        }, headers={"cache-control": "no-store"})

    def plan(self, request: Request) -> Response:
        username = _username(request.path_params["username"])
        try:
            key = AccountKey.parse(request.query_params.get("platform", "twitter")[:20], username)
        except InvalidAccount:
            raise BadParameter("not an account of that platform") from None
        html = files.render_plan(self.sources.layout, key)
        if html is None:
            return _error(404, "this account has no content plan yet")
        return JSONResponse({"platform": key.platform, "username": key.username, "html": html},
                            headers={"cache-control": "no-store"})

    def events(self, request: Request) -> Response:
        before = _int(request, "before", None, 1, 2**62)
        limit = _int(request, "limit", 100, 1, MAX_PAGE) or 100
        status = _text(request, "status")
        if status is not None and status not in STATUSES:
            raise BadParameter(f"status must be one of {', '.join(STATUSES)}")
        account = _text(request, "account")
        wanted = EventFilter(source=_text(request, "source", SOURCE), status=status,
                             username=_username(account) if account else None)
        page = self.sources.read_log(lambda db: events_page(db, before, limit, wanted))
        return JSONResponse({"events": page.events, "next_before": page.next_before,
                             "looked_back_to": page.looked_back_to, "last_seq": self.hub.end.last_seq},
                            headers={"cache-control": "no-store"})

    def analytics(self, request: Request) -> Response:
        try:
            body = self.history.get(_text(request, "since") or "24h")
        except BadWindow as err:
            raise BadParameter(str(err)) from None
        return JSONResponse(body, headers={"cache-control": "no-store"})

    def file(self, request: Request) -> Response:
        params = request.path_params
        path = files.file_path(self.sources.layout, params["kind"], params["platform"], params["username"],
                               params["name"])
        if path is None:
            return _error(404, "no such file")
        return FileResponse(path, media_type="image/png", headers={"cache-control": "no-cache"})

    async def stream(self, request: Request) -> Response:
        queue: asyncio.Queue[str | None] = asyncio.Queue(QUEUE_SIZE)
        loop = asyncio.get_running_loop()

        def put(text: str | None) -> None:
            if text is None:
                with contextlib.suppress(asyncio.QueueFull):
                    queue.put_nowait(None)
                return
            try:
                queue.put_nowait(text)
            except asyncio.QueueFull:  # this page cannot keep up: end its stream; the browser reconnects
                while not queue.empty():
                    queue.get_nowait()
                queue.put_nowait(None)

        def deliver(text: str | None) -> None:
            with contextlib.suppress(RuntimeError):  # the loop is closed: the server is stopping
                loop.call_soon_threadsafe(put, text)

        try:
            token = self.hub.subscribe(deliver)
        except TooManyViewers as err:
            return _error(503, str(err))

        async def body() -> AsyncIterator[str]:
            try:
                yield "retry: 1000\n" + sse("hello", {"last_seq": self.hub.end.last_seq, "time": self.sources.now()})
                while True:
                    try:
                        text = await asyncio.wait_for(queue.get(), KEEP_ALIVE_S)
                    except asyncio.TimeoutError:
                        yield ": keep-alive\n\n"
                        continue
                    if text is None:
                        return
                    yield text
            finally:
                self.hub.unsubscribe(token)

        return StreamingResponse(body(), media_type="text/event-stream",
                                 headers={"cache-control": "no-store", "x-accel-buffering": "no"})


def _wrap(handler: Callable[[Request], Response]) -> Callable[[Request], Response]:
    """A sync route (run in a worker thread) whose bad parameters are a 400 and whose unreadable
    log is a 503, both with a short fixed message."""

    def route(request: Request) -> Response:
        try:
            return handler(request)
        except BadParameter as err:
            return _error(400, str(err))
        except LogUnreadable:
            return _error(503, "the stage log cannot be read now (has the miner written one yet?)")
        except Exception as exc:  # one short line, no traceback: the request's path is cut
            log.warning("dashboard: %s answering %s", type(exc).__name__, request.url.path[:80])
            return _error(500, "internal error")

    return route


def build_app(hub: LiveHub, history: HistoryCache, access: Access) -> ASGIApp:
    dashboard = Dashboard(hub, history)
    routes = [
        Route("/", _wrap(dashboard.index), methods=["GET", "HEAD"]),
        Route("/api/overview", _wrap(dashboard.overview), methods=["GET", "HEAD"]),
        Route("/api/accounts", _wrap(dashboard.accounts), methods=["GET", "HEAD"]),
        Route("/api/accounts/{username}", _wrap(dashboard.account), methods=["GET", "HEAD"]),
        Route("/api/accounts/{username}/plan", _wrap(dashboard.plan), methods=["GET", "HEAD"]),
        Route("/api/events", _wrap(dashboard.events), methods=["GET", "HEAD"]),
        Route("/api/analytics", _wrap(dashboard.analytics), methods=["GET", "HEAD"]),
        Route("/api/stream", dashboard.stream, methods=["GET"]),
        Route("/files/{kind}/{platform}/{username}/{name}", _wrap(dashboard.file), methods=["GET", "HEAD"]),
        Mount("/assets", StaticFiles(directory=ASSETS)),
    ]

    async def not_found(request: Request, exc: Exception) -> Response:
        return _error(404, "not found")

    async def not_allowed(request: Request, exc: Exception) -> Response:
        return _error(405, "read-only: only GET")

    app = Starlette(routes=routes, exception_handlers={404: not_found, 405: not_allowed})
    return Guard(app, access)


class Guard:
    """Outermost: only GET/HEAD, the access check, the `?token=` exchange, security headers."""

    def __init__(self, app: ASGIApp, access: Access) -> None:
        self.app = app
        self.access = access

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            if scope["type"] == "lifespan":
                await self.app(scope, receive, send)
            return
        headers = {name.decode("latin-1").lower(): value.decode("latin-1") for name, value in scope["headers"]}

        async def with_headers(message: MutableMapping[str, Any]) -> None:
            if message["type"] == "http.response.start":
                message["headers"] = [*message.get("headers", []), *SECURITY_HEADERS]
            await send(message)

        if scope["method"] not in ("GET", "HEAD"):
            await _error(405, "read-only: only GET")(scope, receive, with_headers)
            return
        query = dict(parse_qsl(scope.get("query_string", b"").decode("latin-1"), keep_blank_values=True))
        if "token" in query and not self.access.open:
            await self._exchange(scope, query, receive, with_headers)
            return
        if not self.access.allowed(headers, _cookies(headers.get("cookie", ""))):
            await self._refuse(scope, headers, receive, with_headers)
            return
        await self.app(scope, receive, with_headers)

    async def _exchange(self, scope: Scope, query: dict[str, str], receive: Receive, send: Send) -> None:
        """`?token=`: a cookie and the same address without the token, or 401."""
        if not self.access.token_matches(query.pop("token")):
            await _error(401, "wrong token")(scope, receive, send)
            return
        rest = urlencode(query)
        path = scope.get("root_path", "") + scope["path"]
        if not path.startswith("/") or path.startswith("//") or "\\" in path:
            path = "/"  # `//host/...` (or `/\\host`) would send the browser to another site
        target = path + (f"?{rest}" if rest else "")
        response = Response(status_code=303, headers={"location": target, "cache-control": "no-store",
                                                      "set-cookie": self.access.cookie_header()})
        await response(scope, receive, send)

    async def _refuse(self, scope: Scope, headers: dict[str, str], receive: Receive, send: Send) -> None:
        message = OPEN_HOSTS_ONLY if self.access.open else NEEDS_TOKEN
        if "text/html" in headers.get("accept", ""):
            page = f"<!doctype html><title>Dashboard: access needed</title><p>{message}</p>"
            status = 403 if self.access.open else 401
            await Response(page, status_code=status, media_type="text/html",
                           headers={"cache-control": "no-store"})(scope, receive, send)
            return
        await _error(403 if self.access.open else 401, message)(scope, receive, send)


def _cookies(header: str) -> dict[str, str]:
    """name -> value of a Cookie header. By hand: `SimpleCookie` stops at the first cookie it finds
    malformed, and other programs on localhost set cookies of their own."""
    found: dict[str, str] = {}
    for part in header[:8192].split(";"):
        name, _, value = part.strip().partition("=")
        if name and name not in found:
            found[name] = value.strip().strip('"')
    return found


__all__ = ["build_app", "to_json"]
