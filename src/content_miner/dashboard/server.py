"""The dashboard's HTTP server: uvicorn in a thread of the miner, on a socket bound here.

Bound here, so a taken port or a bad address is one line at start-up (`DashboardStartError`), not
an exit from inside uvicorn. uvicorn runs without its signal handling (the miner has its own), its
access log (a line per request would be a stranger's to write) and its logging setup. Limits: at
most `MAX_CONNECTIONS` requests at once (503 past them), request heads of at most 16 KiB, idle
connections closed after 5 s.
"""

from __future__ import annotations

import contextlib
import socket
import threading
import time
from collections.abc import Generator
from dataclasses import dataclass
from functools import partial
from typing import Any

import uvicorn

from .access import Access, is_loopback
from .app import build_app
from .history import HistoryCache
from .hub import LiveHub
from .sources import DashboardSources

DEFAULT_HOST = "127.0.0.1"
MAX_CONNECTIONS = 64
MAX_HEAD_BYTES = 16 * 1024
STOP_WAIT_S = 1.0


class DashboardStartError(Exception):
    """The dashboard cannot listen; str() is the one-line reason."""


class _Server(uvicorn.Server):
    @contextlib.contextmanager
    def capture_signals(self) -> Generator[None, None, None]:
        yield  # the miner handles SIGINT/SIGTERM and stops us


def bind(host: str, port: int) -> socket.socket:
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM, proto=socket.IPPROTO_TCP)
    except OSError as err:
        raise DashboardStartError(f"cannot listen on {host}:{port}: {err.strerror or err}") from None
    family, _, _, _, address = infos[0]
    sock = socket.socket(family, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind(address)
        sock.listen(128)
    except OSError as err:
        sock.close()
        raise DashboardStartError(f"cannot listen on {host}:{port}: {err.strerror or err}") from None
    return sock


@dataclass
class DashboardServer:
    hub: LiveHub
    server: _Server
    thread: threading.Thread
    sock: socket.socket
    host: str
    port: int
    token_required: bool

    @property
    def url(self) -> str:
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"http://{host}:{self.port}/"

    def endpoint_fields(self) -> dict[str, Any]:
        return {"dashboard_host": self.host, "dashboard_port": self.port}

    def stop(self) -> None:
        """End every live page's stream, then the server; waits `STOP_WAIT_S` at most."""
        deadline = time.monotonic() + STOP_WAIT_S
        self.hub.stop(timeout=STOP_WAIT_S / 2)
        self.server.should_exit = True
        self.server.force_exit = True  # no waiting for open connections: they are read-only views
        self.thread.join(max(0.05, deadline - time.monotonic()))
        self.sock.close()


def start_dashboard(sources: DashboardSources, host: str, port: int, token: str | None, *,
                    timeout_s: float = 10.0) -> DashboardServer:
    """Listen on host:port (0: any free port) and serve the dashboard from a daemon thread."""
    sock = bind(host, port)
    hub = LiveHub(sources).start()
    history = HistoryCache(sources.read_log, sources.layout.stage_log, now=sources.now)
    app = build_app(hub, history, Access(token))
    config = uvicorn.Config(app, loop="asyncio", http="h11", lifespan="off", log_config=None, access_log=False,
                            server_header=False, proxy_headers=False, limit_concurrency=MAX_CONNECTIONS,
                            timeout_keep_alive=5, h11_max_incomplete_event_size=MAX_HEAD_BYTES,
                            timeout_graceful_shutdown=1)
    server = _Server(config)
    thread = threading.Thread(target=partial(server.run, sockets=[sock]), name="dashboard", daemon=True)
    thread.start()
    deadline = time.monotonic() + timeout_s
    while not server.started:
        if not thread.is_alive() or time.monotonic() > deadline:
            hub.stop()
            server.should_exit = True
            sock.close()
            raise DashboardStartError(f"the dashboard did not start listening on {host}:{sock.getsockname()[1]}")
        time.sleep(0.01)
    bound = sock.getsockname()
    return DashboardServer(hub, server, thread, sock, host, int(bound[1]), token is not None)


__all__ = ["DEFAULT_HOST", "DashboardServer", "DashboardStartError", "is_loopback", "start_dashboard"]
