"""Who may see the dashboard: loopback without a token, anyone with it; the token's exchange for a
cookie; short, fixed answers to anything else."""

from __future__ import annotations

import socket
from collections.abc import Callable

import httpx
import pytest

from content_miner.dashboard import DashboardServer
from content_miner.dashboard.access import COOKIE, Access, host_name, is_loopback, settings_problem

TOKEN = "s3cret-token-for-tests-0123456789"


@pytest.mark.parametrize("host, loopback", [
    ("127.0.0.1", True), ("127.0.0.2", True), ("::1", True), ("[::1]", True), ("localhost", True),
    ("0.0.0.0", False), ("::", False), ("192.168.1.5", False), ("example.com", False), ("", False)])
def test_only_loopback_addresses_count_as_this_machine(host: str, loopback: bool) -> None:
    assert is_loopback(host) is loopback


def test_a_remote_address_needs_a_token_and_the_refusal_never_shows_one() -> None:
    problem = settings_problem("0.0.0.0", None)
    assert problem is not None and "--dashboard.token" in problem and "SSH tunnel" in problem
    short = settings_problem("0.0.0.0", "abc123")
    assert short is not None and "at least 16" in short and "abc123" not in short
    spaced = settings_problem("0.0.0.0", "a token with spaces in it")
    assert spaced is not None and "with spaces" not in spaced
    assert settings_problem("0.0.0.0", TOKEN) is None
    assert settings_problem("127.0.0.1", None) is None


def test_host_names_come_from_host_headers() -> None:
    assert host_name("localhost:8095") == "localhost"
    assert host_name("[::1]:8095") == "::1"
    assert host_name("127.0.0.1") == "127.0.0.1"


def test_the_cookie_holds_an_hmac_of_the_token_not_the_token() -> None:
    access = Access(TOKEN)
    assert TOKEN not in access.session() and TOKEN not in access.cookie_header()
    assert "HttpOnly" in access.cookie_header() and "SameSite=Strict" in access.cookie_header()
    assert access.allowed({"host": "x"}, {COOKIE: access.session()})
    assert not access.allowed({"host": "x"}, {COOKIE: "0" * 64})
    assert access.allowed({"authorization": f"Bearer {TOKEN}"}, {})
    assert not access.allowed({"authorization": f"Bearer {TOKEN[:-1]}"}, {})
    assert not access.allowed({"host": "127.0.0.1"}, {})  # a token is asked for even on loopback


def _raw_get(port: int, target: str) -> dict[str, str]:
    """The response headers to a request line sent as written (clients normalise `//host` paths)."""
    with socket.create_connection(("127.0.0.1", port), timeout=10) as sock:
        sock.sendall(f"GET {target} HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n".encode())
        head = b""
        while b"\r\n\r\n" not in head:
            chunk = sock.recv(4096)
            if not chunk:
                break
            head += chunk
    lines = head.split(b"\r\n\r\n")[0].decode("latin-1").split("\r\n")[1:]
    return {name.lower(): value.strip() for name, _, value in (line.partition(":") for line in lines)}


def test_with_a_token_nothing_is_served_without_it(history, serve: Callable[..., DashboardServer]) -> None:
    server = serve(history.sources(), token=TOKEN)
    base = server.url
    with httpx.Client(base_url=base, timeout=10) as client:
        for path in ("/", "/api/overview", "/api/accounts", "/api/events", "/api/analytics", "/api/stream",
                     "/assets/main.js", "/api/accounts/acct_0001", "/files/exports/twitter/acct_0001/x.png"):
            answer = client.get(path)
            assert answer.status_code == 401, path
            assert len(answer.content) < 400
        page = client.get("/", headers={"accept": "text/html"})
        assert page.status_code == 401 and "access token" in page.text
        assert client.get("/?token=wrong-token-wrong-token").status_code == 401

        exchange = client.get("/?token=" + TOKEN + "&x=1")
        assert exchange.status_code == 303
        assert exchange.headers["location"] == "/?x=1"  # the token is not left in the address
        assert "HttpOnly" in exchange.headers["set-cookie"] and TOKEN not in exchange.headers["set-cookie"]
        assert client.cookies.get(COOKIE)
        for sneaky in ("//evil.example/x", "/\\evil.example/x"):  # no redirect to another site
            assert _raw_get(server.port, f"{sneaky}?token={TOKEN}").get("location") == "/", sneaky
        assert client.get("/").status_code == 200
        assert client.get("/api/accounts").json()["total"] == 50
    bearer = httpx.get(base + "api/overview", headers={"authorization": f"Bearer {TOKEN}"}, timeout=10)
    assert bearer.status_code == 200 and bearer.json()["accounts"]["total"] == 50


def test_without_a_token_it_answers_only_to_loopback_host_names(history, serve) -> None:
    server = serve(history.sources())
    assert httpx.get(server.url + "api/overview", timeout=10).status_code == 200
    for host in ("localhost:8095", "[::1]:8095", "127.0.0.1"):
        assert httpx.get(server.url + "api/overview", headers={"host": host}, timeout=10).status_code == 200
    rebound = httpx.get(server.url + "api/overview", headers={"host": "attacker.example:8095"}, timeout=10)
    assert rebound.status_code == 403 and "loopback" in rebound.json()["error"]


def test_it_is_read_only_and_bad_requests_get_short_fixed_answers(history, serve) -> None:
    server = serve(history.sources())
    url = server.url
    for method in ("POST", "PUT", "DELETE", "PATCH"):
        answer = httpx.request(method, url + "api/accounts", content=b"x" * 1000, timeout=10)
        assert answer.status_code == 405, method
    hostile = "A" * 5000
    for path in (f"api/accounts?limit={hostile}", f"api/accounts?sort={hostile}", f"api/events?status={hostile}",
                 "api/events?before=-1", f"api/analytics?since={hostile}", "api/accounts?limit=100000",
                 "api/accounts/..%2F..%2Fetc"):
        answer = httpx.get(url + path, timeout=10)
        assert answer.status_code in (400, 404), path
        assert hostile not in answer.text and len(answer.content) < 300, path
    assert httpx.get(url + "nope", timeout=10).status_code == 404
    for path in ("files/exports/twitter/acct_0001/..%2F..%2Fstage_log.sqlite3",
                 "files/secrets/twitter/acct_0001/a.png", "files/exports/twitter/..%2F..%2F/a.png"):
        assert httpx.get(url + path, timeout=10).status_code == 404, path
    headers = httpx.get(url, timeout=10).headers
    assert "script-src 'self'" in headers["content-security-policy"]
    assert headers["x-content-type-options"] == "nosniff" and headers["x-frame-options"] == "DENY"
