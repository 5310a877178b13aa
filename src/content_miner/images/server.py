"""The HTTP server: uvicorn on a socket we bind ourselves, with our own signal handling."""

from __future__ import annotations

import contextlib
import logging
import socket
from collections.abc import Generator

import uvicorn
from fastapi import FastAPI

logger = logging.getLogger(__name__)

# The stop after SIGTERM must end within 5 s. Its worst case: uvicorn's tick and pause (0.2 s), open
# requests (GRACEFUL_SHUTDOWN_S), what is left of the watcher's join (service.STOP_JOIN_S: it has
# been stopping since the signal), then the interpreter's exit (~0.3 s): 3.5 s, leaving 1.5 s spare.
GRACEFUL_SHUTDOWN_S = 1.5


def bind_socket(host: str, port: int) -> socket.socket:
    """A listening TCP socket on `host:port`; `OSError` (e.g. address in use) is the caller's to report.

    Bound here rather than by uvicorn so a taken port is one clear line and exit code, not a
    `sys.exit` from inside uvicorn's startup.
    """
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind((host, port))
        sock.listen(128)
        sock.set_inheritable(True)
    except OSError:
        sock.close()
        raise
    return sock


class QueryServer(uvicorn.Server):
    """uvicorn without its signal capture.

    uvicorn re-raises SIGTERM/SIGINT after a graceful shutdown, so the process would end with
    -15 instead of 0; the entry point installs its own handlers and calls `request_exit`.
    """

    @contextlib.contextmanager
    def capture_signals(self) -> Generator[None, None, None]:
        yield

    def request_exit(self) -> None:
        if self.should_exit:
            self.force_exit = True  # a second signal: stop waiting for open connections
        self.should_exit = True


def make_server(app: FastAPI) -> QueryServer:
    config = uvicorn.Config(
        app,
        log_config=None,  # keep the process's logging setup
        access_log=False,  # one line per query would drown the operator's log
        lifespan="off",
        timeout_graceful_shutdown=GRACEFUL_SHUTDOWN_S,  # type: ignore[arg-type]  # annotated int; used as asyncio.wait_for's float
        server_header=False,
    )
    return QueryServer(config)
