"""Who may see the dashboard: anyone on the machine when it listens on loopback without a token,
else only who shows the token.

The token comes as `Authorization: Bearer <token>` (scripts), or once as `?token=<token>` in a
browser: that visit gets a cookie and a redirect to the same page without the token, so the token
does not stay in the address bar, the history or the `Referer` of later requests. The cookie holds
an HMAC of the token, not the token. Every comparison is constant-time (`hmac.compare_digest` of
fixed-length digests, so not even the token's length shows in the timing).

Without a token (loopback only) the `Host` header must name a loopback address: a web page
elsewhere cannot read the dashboard through a DNS name that it points at 127.0.0.1 (DNS rebinding).
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Mapping
from dataclasses import dataclass

from content_miner.neuron.listen_hosts import is_loopback

TOKEN_ENV = "MINER_DASHBOARD_TOKEN"
MIN_TOKEN_CHARS = 16
COOKIE = "content_miner_dashboard"
COOKIE_MAX_AGE_S = 7 * 86400
_SESSION_LABEL = b"content-miner dashboard session v1"


def settings_problem(host: str, token: str | None) -> str | None:
    """One line for the operator when the dashboard's address and token cannot go together, or None.
    The token itself is never part of the line."""
    if token is not None and len(token) < MIN_TOKEN_CHARS:
        return (f"--dashboard.token (or ${TOKEN_ENV}) must be at least {MIN_TOKEN_CHARS} characters "
                "(e.g. `openssl rand -hex 16`)")
    if token is not None and (not token.isascii() or not token.isprintable() or " " in token):
        return f"--dashboard.token (or ${TOKEN_ENV}) must be printable ASCII without spaces"
    if token is None and not is_loopback(host):
        return (f"--dashboard.host {host} is reachable from other machines: set --dashboard.token (or "
                f"${TOKEN_ENV}), or keep the default 127.0.0.1 and use an SSH tunnel")
    return None


def _digest(value: str) -> bytes:
    return hashlib.sha256(value.encode("utf-8", "surrogateescape")).digest()


def host_name(host_header: str) -> str:
    """The name part of a Host header (`[::1]:8095` -> `::1`, `localhost:8095` -> `localhost`)."""
    value = host_header.strip()
    if value.startswith("["):
        return value[1:value.find("]")] if "]" in value else value
    return value.rsplit(":", 1)[0] if value.count(":") == 1 else value


@dataclass(frozen=True)
class Access:
    token: str | None

    @property
    def open(self) -> bool:
        """No token: loopback only, checked by the Host header."""
        return self.token is None

    def session(self) -> str:
        """The cookie's value: an HMAC of the token."""
        assert self.token is not None
        return hmac.new(self.token.encode("utf-8"), _SESSION_LABEL, hashlib.sha256).hexdigest()

    def token_matches(self, given: str) -> bool:
        return self.token is not None and hmac.compare_digest(_digest(given), _digest(self.token))

    def allowed(self, headers: Mapping[str, str], cookies: Mapping[str, str]) -> bool:
        """May this request see the dashboard (headers: lower-case names)?"""
        if self.token is None:
            return is_loopback(host_name(headers.get("host", "")))
        bearer = headers.get("authorization", "")
        if bearer[:7].lower() == "bearer " and self.token_matches(bearer[7:].strip()):
            return True
        cookie = cookies.get(COOKIE)
        return cookie is not None and hmac.compare_digest(_digest(cookie), _digest(self.session()))

    def cookie_header(self) -> str:
        return f"{COOKIE}={self.session()}; Max-Age={COOKIE_MAX_AGE_S}; Path=/; HttpOnly; SameSite=Strict"
