"""The miner's /metrics endpoint: prometheus_client's HTTP server over the miner's own registry.

Bound to 127.0.0.1 unless `--metrics.host` says otherwise (anything else gets one warning line: the
endpoint has no authentication); `--metrics.port 0` takes any free port. The port it listens on is
written to `run/miner.json` (`metrics_port`) beside the axon's, so tools and tests find it.
Only `/metrics` is served (prometheus_client's own server answers the metrics on every path); any
other path is a 404 naming the right one. Requests are not logged. At most MAX_CONNECTIONS connections
at once, each closed after READ_TIMEOUT_S of silence (the standard library's server keeps a thread per
connection for as long as the client likes).
"""

from __future__ import annotations

import socket
import threading
from collections.abc import Callable, Iterable
from typing import Any
from wsgiref.simple_server import WSGIRequestHandler, make_server

from prometheus_client import make_wsgi_app
from prometheus_client.exposition import ThreadingWSGIServer
from prometheus_client.registry import CollectorRegistry

from content_miner.neuron.listen_hosts import is_loopback
from content_miner.neuron.metrics import MetricsSources, MinerMetrics, ModuleReading, build_registry
from content_miner.tracker import MinerStageTracker
from content_miner.tracker.live import LiveStage, StallRules
from content_miner.tracker.log_tally import active_current

STOP_WAIT_S = 2.0
READ_TIMEOUT_S = 10.0  # for a request, as the axon's --axon.read_timeout
MAX_CONNECTIONS = 32  # at once; a scraper needs one
METRICS_PATHS = frozenset({"/metrics", "/metrics/"})
NOT_FOUND = b"Not found: the miner's metrics are at /metrics\n"

WsgiApp = Callable[[dict[str, Any], Callable[..., Any]], Iterable[bytes]]


class MetricsStartError(Exception):
    """/metrics could not listen; str() is the one-line reason."""


def exposure_warning(host: str, port: int) -> str | None:
    """The one line said when /metrics listens beyond this machine, or None on loopback."""
    if is_loopback(host):
        return None
    return (f"/metrics listens on {host}:{port}, beyond this machine, and is unauthenticated: anyone who reaches "
            "that port reads the miner's hotkey, stages and queue; keep it behind a firewall (or leave "
            "--metrics.host at 127.0.0.1 and scrape through a tunnel)")


def module_readings(supervisor: Any) -> list[ModuleReading]:
    """Each supervised module as the metrics see it (read without the supervisor's lock: each field
    is one attribute, replaced whole, as `ModuleSupervisor.states` reads them)."""
    return [ModuleReading(module.spec.source, module.state, module.backoff.restarts, module.process.pid)
            for module in supervisor.modules]


def active_stages(tracker: MinerStageTracker, rules: StallRules) -> list[LiveStage]:
    """The live view of the stages /metrics counts (running, stalled, crashed), read without the
    completed and failed entries of every account the miner ever served."""
    empty: dict[str, dict[str, dict[str, Any]]] = {}
    return tracker.live(rules=rules, status={"current": tracker.read(active_current, empty)})


def metrics_only(app: WsgiApp) -> WsgiApp:
    """`app` on /metrics, a short 404 anywhere else."""
    def serve(environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        if environ.get("PATH_INFO", "") in METRICS_PATHS:
            return app(environ, start_response)
        start_response("404 Not Found", [("Content-Type", "text/plain; charset=utf-8"),
                                         ("Content-Length", str(len(NOT_FOUND)))])
        return [NOT_FOUND]
    return serve


class _QuietHandler(WSGIRequestHandler):
    timeout = READ_TIMEOUT_S  # a connection silent this long is closed

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - the base class's name
        """A scrape every 15 s is not worth a line; nor is a stranger's request."""


class _BoundedWSGIServer(ThreadingWSGIServer):
    """At most MAX_CONNECTIONS connections at once (a thread each); more are closed unanswered. A
    connection that times out or breaks is dropped without the traceback socketserver would print."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        self._slots = threading.BoundedSemaphore(MAX_CONNECTIONS)
        super().__init__(*args, **kwargs)

    def process_request(self, request: Any, client_address: Any) -> None:
        if not self._slots.acquire(blocking=False):
            self.shutdown_request(request)
            return
        try:
            super().process_request(request, client_address)
        except BaseException:
            self._slots.release()
            raise

    def process_request_thread(self, request: Any, client_address: Any) -> None:
        try:
            super().process_request_thread(request, client_address)
        finally:
            self._slots.release()

    def handle_error(self, request: Any, client_address: Any) -> None:
        """A slow or broken client: nothing to report."""


def _serve(host: str, port: int, app: WsgiApp) -> tuple[Any, threading.Thread]:
    """A threaded WSGI server on `host:port` (IPv4 or IPv6, as the host resolves), serving from a daemon thread."""
    family, _, _, _, address = socket.getaddrinfo(host or None, port, type=socket.SOCK_STREAM,
                                                  flags=socket.AI_PASSIVE)[0]
    server_class = type("MetricsWSGIServer", (_BoundedWSGIServer,), {"address_family": family})
    server: Any = make_server(str(address[0]), port, app, server_class, handler_class=_QuietHandler)
    thread = threading.Thread(target=server.serve_forever, name="metrics-http", daemon=True)
    thread.start()
    return server, thread


class MetricsServer:
    def __init__(self, registry: CollectorRegistry) -> None:
        self.registry = registry
        self.host = ""
        self.port = 0
        self._server: Any = None
        self._thread: threading.Thread | None = None

    def start(self, host: str, port: int) -> int:
        """Listen on `host:port` (0: any free port) and serve from a daemon thread; the port."""
        try:
            self._server, self._thread = _serve(host.strip("[]"), port, metrics_only(make_wsgi_app(self.registry)))
        except OSError as err:
            raise MetricsStartError(f"cannot listen on {host}:{port} for /metrics: {err.strerror or err} "
                                    "(--metrics.port, --metrics.host)") from None
        self.host, self.port = host, int(self._server.server_port)
        return self.port

    def stop(self) -> None:
        server, thread = self._server, self._thread
        self._server = self._thread = None
        if server is not None:
            server.shutdown()
            server.server_close()
        if thread is not None:
            thread.join(STOP_WAIT_S)

    def endpoint_fields(self) -> dict[str, Any]:
        """What `run/miner.json` says about /metrics."""
        return {"metrics_host": self.host, "metrics_port": self.port} if self._server is not None else {}


def start_metrics(sources: MetricsSources, host: str, port: int, logger: Any) -> tuple[MetricsServer, MinerMetrics]:
    """/metrics served over `sources`; one warning line when it listens beyond loopback."""
    collector = MinerMetrics(sources, logger)
    server = MetricsServer(build_registry(collector))
    listening = server.start(host, port)
    warning = exposure_warning(host, listening)
    if warning:
        logger.warning(warning)
    where = f"[{host}]" if ":" in host else host
    logger.info(f"📈 Metrics at http://{where}:{listening}/metrics (Prometheus)")
    return server, collector
