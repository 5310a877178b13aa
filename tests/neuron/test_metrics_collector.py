"""The miner's Prometheus collector over a real stage log (a clock the test moves), real processes for
the memory figures, and the axon's request counter on a real ASGI app: every series is there at 0
from the start, every series carries hotkey and netuid, a part that cannot be read leaves the others."""

from __future__ import annotations

import socket
import subprocess
import sys
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import psutil
import pytest
from prometheus_client import generate_latest
from prometheus_client.parser import text_string_to_metric_families
from prometheus_client.registry import CollectorRegistry
from starlette.applications import Starlette
from starlette.responses import PlainTextResponse
from starlette.routing import Route
from starlette.testclient import TestClient

from content_miner.neuron.axon_requests import OTHER, AxonRequests, RequestCounter
from content_miner.neuron.listen_hosts import is_loopback, usable_host
from content_miner.neuron.metrics import MetricsSources, MinerMetrics, ModuleReading, build_registry
from content_miner.neuron.metrics_server import MAX_CONNECTIONS as METRICS_MAX_CONNECTIONS
from content_miner.neuron.metrics_server import READ_TIMEOUT_S as METRICS_READ_TIMEOUT_S
from content_miner.neuron.metrics_server import active_stages, exposure_warning, start_metrics
from content_miner.neuron.refusal_log import MAX_REASONS, OTHER_REASON, RefusalLog
from content_miner.pipeline.jobs import QueueSummary
from content_miner.tracker import MinerStageTracker
from content_miner.tracker.definitions import DEFAULTS
from content_miner.tracker.live import StallRules
from content_miner.tracker.log_tally import DURATION_BUCKETS_S
from support.tracker import Collected, SteppedClock

HOTKEY = "5HotkeyOfTheMinerUnderTest"
NETUID = 7
Samples = dict[tuple[str, frozenset[tuple[str, str]]], float]


def scrape(registry: CollectorRegistry) -> Samples:
    """Every sample of one scrape, as Prometheus's text format gives it (parsed back)."""
    found: Samples = {}
    for family in text_string_to_metric_families(generate_latest(registry).decode()):
        for sample in family.samples:
            found[(sample.name, frozenset(sample.labels.items()))] = sample.value
    return found


def pick(samples: Samples, name: str, **labels: str) -> dict[frozenset[tuple[str, str]], float]:
    wanted = set(labels.items())
    return {key: value for (found, key), value in samples.items() if found == name and wanted <= key}


def one(samples: Samples, name: str, **labels: str) -> float:
    matches = pick(samples, name, **labels)
    assert len(matches) == 1, (name, labels, matches)
    return next(iter(matches.values()))


@pytest.fixture
def clock() -> SteppedClock:
    return SteppedClock()


@pytest.fixture
def tracker(tmp_path: Path, clock: SteppedClock) -> Iterator[MinerStageTracker]:
    tracker = MinerStageTracker(tmp_path / "data" / "miner_status.json", source="module1", clock=clock.clock)
    yield tracker
    tracker.close()


def sources(tracker: MinerStageTracker, clock: SteppedClock, **parts: object) -> MetricsSources:
    settings: dict[str, object] = {
        "hotkey": HOTKEY, "netuid": NETUID, "read_log": tracker.read, "log_path": tracker.log_path,
        "start_seq": tracker.end_cursor().seq,
        "live": lambda: active_stages(tracker, StallRules()), "definitions": DEFAULTS, "now": lambda: clock.now,
        "modules": lambda: [ModuleReading("module1", "Running", 0, None),
                            ModuleReading("module2", "Starting", 0, None)],
        "queue": lambda: QueueSummary(0, 0, None, {}),
        **parts,
    }
    return MetricsSources(**settings)  # type: ignore[arg-type]


def test_every_series_is_there_at_zero_before_any_event(tracker: MinerStageTracker, clock: SteppedClock) -> None:
    requests = AxonRequests(["ContentPlanSynapse", "StageStatusSynapse"])
    refusals = RefusalLog(Collected())
    samples = scrape(build_registry(MinerMetrics(sources(tracker, clock, requests=requests.counts,
                                                         refusals=refusals.by_reason))))
    stages = [(source.source, number) for source in DEFAULTS.sources.values() for number in source.stages]
    assert ("module1", 7) in stages and ("module2", 1) in stages
    for source, number in stages:
        where = {"source": source, "stage": str(number), "stage_name": DEFAULTS.name(source, number)}
        for status in ("running", "completed", "failed"):
            assert one(samples, "content_miner_stage_transitions_total", **where, status=status) == 0
        for state in ("running", "stalled", "crashed"):
            assert one(samples, "content_miner_stages", **where, state=state) == 0
        buckets = pick(samples, "content_miner_stage_duration_seconds_bucket", **where)
        assert sorted(dict(key)["le"] for key in buckets) == sorted([f"{b:g}" for b in DURATION_BUCKETS_S] + ["+Inf"])
        assert set(buckets.values()) == {0}
        assert one(samples, "content_miner_stage_duration_seconds_count", **where) == 0
        assert one(samples, "content_miner_stage_duration_seconds_sum", **where) == 0
    for part in ("info", "stage_log", "live_stages", "modules", "memory", "jobs", "axon"):
        assert one(samples, "content_miner_metrics_errors_total", part=part) == 0
    assert one(samples, "content_miner_jobs", state="queued") == 0
    assert one(samples, "content_miner_jobs", state="running") == 0
    assert one(samples, "content_miner_jobs_oldest_queued_age_seconds") == 0
    assert one(samples, "content_miner_axon_requests_total", synapse="ContentPlanSynapse", status="200") == 0
    assert one(samples, "content_miner_module_restarts_total", module="module2") == 0
    assert one(samples, "content_miner_module_state", module="module2", state="Starting") == 1
    assert one(samples, "content_miner_module_state", module="module2", state="errored") == 0
    assert one(samples, "content_miner_resident_memory_bytes", process="miner") > 10 * 2**20
    assert one(samples, "content_miner_info") == 1
    # Every series, whatever its metric, names the miner: several miners can share one Prometheus.
    assert len(samples) > 200
    for (_, labels), _value in samples.items():
        assert ("hotkey", HOTKEY) in labels and ("netuid", str(NETUID)) in labels, labels
        assert "username" not in dict(labels) and "account" not in dict(labels)


def test_transitions_and_durations_count_the_log_from_the_miners_start(tracker: MinerStageTracker,
                                                                        clock: SteppedClock, tmp_path: Path) -> None:
    tracker.stage_start(1, "before the miner started", "old_account")
    clock.advance(3)
    tracker.stage_complete(1, "before the miner started", "old_account")
    metrics = MinerMetrics(sources(tracker, clock))
    registry = build_registry(metrics)
    for user, seconds in (("alice", 3.0), ("bob", 0.2), ("carol", 4000.0)):
        tracker.stage_start(1, "scraping", user)
        clock.advance(seconds)
        tracker.stage_complete(1, "scraped", user)
    tracker.stage_start(3, "indexing", "dave")
    clock.advance(7)
    tracker.stage_failed(3, "embedder broke", "dave")
    # Another process's tracker (Module 2) writes into the same log: its events count too.
    module2 = MinerStageTracker(tmp_path / "data" / "miner_status.json", source="module2", clock=clock.clock)
    module2.stage_start(1, "rendering", "alice")
    clock.advance(1.5)
    module2.stage_complete(1, "rendered", "alice")
    module2.close()

    samples = scrape(registry)
    scraping = {"source": "module1", "stage": "1", "stage_name": "Data Scraping"}
    assert one(samples, "content_miner_stage_transitions_total", **scraping, status="running") == 3
    assert one(samples, "content_miner_stage_transitions_total", **scraping, status="completed") == 3
    assert one(samples, "content_miner_stage_transitions_total", **scraping, status="failed") == 0
    assert one(samples, "content_miner_stage_transitions_total", source="module1", stage="3", status="failed") == 1
    assert one(samples, "content_miner_stage_duration_seconds_count", **scraping) == 3
    assert one(samples, "content_miner_stage_duration_seconds_sum", **scraping) == pytest.approx(4003.2)
    assert one(samples, "content_miner_stage_duration_seconds_bucket", **scraping, le="0.5") == 1
    assert one(samples, "content_miner_stage_duration_seconds_bucket", **scraping, le="2.5") == 1
    assert one(samples, "content_miner_stage_duration_seconds_bucket", **scraping, le="5") == 2
    assert one(samples, "content_miner_stage_duration_seconds_bucket", **scraping, le="3600") == 2
    assert one(samples, "content_miner_stage_duration_seconds_bucket", **scraping, le="+Inf") == 3
    # A failed stage has a duration too, but the histogram is of completed ones.
    assert one(samples, "content_miner_stage_duration_seconds_count", source="module1", stage="3") == 0
    assert one(samples, "content_miner_stage_duration_seconds_count", source="module2", stage="1") == 1
    assert one(samples, "content_miner_stage_duration_seconds_sum", source="module2", stage="1") == pytest.approx(1.5)
    assert one(samples, "content_miner_stage_log_last_seq") == tracker.end_cursor().seq

    # The next scrape reads only what came since, and adds it.
    tracker.stage_start(1, "scraping", "erin")
    clock.advance(1)
    tracker.stage_complete(1, "scraped", "erin")
    again = scrape(registry)
    assert one(again, "content_miner_stage_transitions_total", **scraping, status="completed") == 4
    assert one(again, "content_miner_stage_duration_seconds_bucket", **scraping, le="1") == 2


def test_running_stalled_and_crashed_stages_are_counted_by_stage(tracker: MinerStageTracker,
                                                                  clock: SteppedClock) -> None:
    registry = build_registry(MinerMetrics(sources(tracker, clock)))
    tracker.stage_start(1, "scraping", "stuck_one")  # Data Scraping's max_s is 1800
    clock.advance(2000)
    tracker.stage_start(2, "retrieving", "busy_one")
    tracker.stage_start(2, "retrieving", "busy_two")
    tracker.stage_start(3, "indexing", "victim")
    tracker.stage_failed(3, "Module 1 crashed (killed by SIGKILL)", "victim", {"crashed": True, "interrupted": False})
    tracker.stage_start(0, "waiting", "", {"idle": True})  # the module's own idle wait: not a running stage
    samples = scrape(registry)
    assert one(samples, "content_miner_stages", source="module1", stage="1", state="stalled") == 1
    assert one(samples, "content_miner_stages", source="module1", stage="1", state="running") == 0
    assert one(samples, "content_miner_stages", source="module1", stage="2", state="running") == 2
    assert one(samples, "content_miner_stages", source="module1", stage="3", state="crashed") == 1
    assert one(samples, "content_miner_stages", source="module1", stage="0", state="running") == 0


def test_a_part_that_cannot_be_read_is_left_out_and_counted_while_the_others_stay(
        tracker: MinerStageTracker, clock: SteppedClock) -> None:
    def broken_queue() -> QueueSummary:
        raise OSError("database is locked")

    logger = Collected()
    registry = build_registry(MinerMetrics(sources(tracker, clock, queue=broken_queue), logger))
    tracker.stage_start(1, "scraping", "alice")
    first = scrape(registry)
    second = scrape(registry)
    for samples, errors in ((first, 1), (second, 2)):
        assert not pick(samples, "content_miner_jobs")
        assert not pick(samples, "content_miner_jobs_oldest_queued_age_seconds")
        assert one(samples, "content_miner_metrics_errors_total", part="jobs") == errors
        assert one(samples, "content_miner_metrics_errors_total", part="stage_log") == 0
        assert one(samples, "content_miner_stage_transitions_total", source="module1", stage="1", status="running") == 1
        assert one(samples, "content_miner_stages", source="module1", stage="1", state="running") == 1
        assert one(samples, "content_miner_module_state", module="module1", state="Running") == 1
    # Said once, not on every scrape.
    assert logger.lines == [("warning", "/metrics: cannot read jobs: OSError: database is locked (left out of the "
                                        "scrapes until it works again; counted in content_miner_metrics_errors_total)")]


def test_a_stage_log_that_cannot_be_read_keeps_the_totals_so_far_and_is_counted(
        tracker: MinerStageTracker, clock: SteppedClock) -> None:
    logger = Collected()
    readable = {"now": True}

    def read_log(query, default):  # type: ignore[no-untyped-def]
        return tracker.read(query, default) if readable["now"] else default  # what the tracker gives on an error

    registry = build_registry(MinerMetrics(sources(tracker, clock, read_log=read_log), logger))
    tracker.stage_start(1, "scraping", "alice")
    first = scrape(registry)
    assert one(first, "content_miner_stage_transitions_total", source="module1", stage="1", status="running") == 1
    readable["now"] = False
    tracker.stage_start(2, "retrieving", "alice")
    samples = scrape(registry)
    # A counter series that vanished for a scrape would read as a reset: the totals so far stay.
    assert one(samples, "content_miner_stage_transitions_total", source="module1", stage="1", status="running") == 1
    assert one(samples, "content_miner_stage_transitions_total", source="module1", stage="2", status="running") == 0
    assert one(samples, "content_miner_metrics_errors_total", part="stage_log") == 1
    readable["now"] = True
    samples = scrape(registry)
    assert one(samples, "content_miner_stage_transitions_total", source="module1", stage="2", status="running") == 1
    assert [level for level, _ in logger.lines] == ["warning"]


def test_queue_depth_and_the_age_of_the_oldest_queued_account(tracker: MinerStageTracker, clock: SteppedClock) -> None:
    summary = QueueSummary(queued=4, running=1, oldest_queued_at=clock.now - 90.0, by_submitter={"v1": 5})
    samples = scrape(build_registry(MinerMetrics(sources(tracker, clock, queue=lambda: summary))))
    assert one(samples, "content_miner_jobs", state="queued") == 4
    assert one(samples, "content_miner_jobs", state="running") == 1
    assert one(samples, "content_miner_jobs_oldest_queued_age_seconds") == pytest.approx(90.0)
    assert not any("submitter" in dict(labels) for _, labels in samples)  # per validator: unbounded


HOLDER = """
import subprocess, sys
child = subprocess.Popen([sys.executable, "-c", "import sys, time; block = bytearray(120 * 2**20); "
                          "block[::4096] = b'x' * len(block[::4096]); print('ready', flush=True); time.sleep(600)"],
                         stdout=subprocess.PIPE, text=True)
print(child.stdout.readline().strip(), child.pid, flush=True)
child.wait()
"""


@pytest.fixture
def module_with_a_big_child() -> Iterator[tuple[int, int]]:
    """A process (the 'module') whose child holds 120 MB: (module pid, child pid)."""
    parent = subprocess.Popen([sys.executable, "-c", HOLDER], stdout=subprocess.PIPE, text=True)
    try:
        assert parent.stdout is not None
        word, child = parent.stdout.readline().split()
        assert word == "ready"
        yield parent.pid, int(child)
    finally:
        for pid in (parent.pid,):
            for process in [*psutil.Process(pid).children(recursive=True), psutil.Process(pid)]:
                try:
                    process.kill()
                except psutil.Error:
                    pass
        parent.wait(timeout=10)


def test_module_memory_includes_the_processes_it_started_and_states_are_one_hot(
        tracker: MinerStageTracker, clock: SteppedClock, module_with_a_big_child: tuple[int, int]) -> None:
    module_pid, child_pid = module_with_a_big_child
    modules = [ModuleReading("module1", "Running", 3, module_pid), ModuleReading("module2", "errored", 5, None)]
    samples = scrape(build_registry(MinerMetrics(sources(tracker, clock, modules=lambda: modules))))
    alone = psutil.Process(module_pid).memory_info().rss
    assert alone < 60 * 2**20  # the module itself is a small interpreter ...
    assert one(samples, "content_miner_resident_memory_bytes", process="module1") >= 120 * 2**20  # ... its child isn't
    assert not pick(samples, "content_miner_resident_memory_bytes", process="module2")  # not running: no figure
    assert one(samples, "content_miner_module_restarts_total", module="module1") == 3
    assert one(samples, "content_miner_module_restarts_total", module="module2") == 5
    states = pick(samples, "content_miner_module_state", module="module2")
    assert sorted(dict(key)["state"] for key, value in states.items() if value == 1) == ["errored"]
    assert len(states) == 6


def test_the_request_counter_counts_every_answer_by_synapse_and_status() -> None:
    async def ok(request: object) -> PlainTextResponse:
        return PlainTextResponse("fine")

    async def broken(request: object) -> PlainTextResponse:
        raise RuntimeError("boom")

    requests = AxonRequests(["ContentPlanSynapse", "StageStatusSynapse"])
    app = Starlette(routes=[Route("/ContentPlanSynapse", ok, methods=["POST"]),
                            Route("/StageStatusSynapse", broken, methods=["POST"])])
    counted = RequestCounter(app, requests)
    with TestClient(counted, raise_server_exceptions=False) as client:
        for _ in range(3):
            assert client.post("/ContentPlanSynapse").status_code == 200
        assert client.get("/ContentPlanSynapse").status_code == 405
        assert client.post("/StageStatusSynapse").status_code == 500
        for index in range(50):  # a scanner's random paths: one series, not fifty
            assert client.post(f"/random{index}").status_code == 404
    assert requests.counts() == {("ContentPlanSynapse", "200"): 3, ("ContentPlanSynapse", "405"): 1,
                                 ("StageStatusSynapse", "200"): 0, ("StageStatusSynapse", "500"): 1,
                                 (OTHER, "404"): 50}


def test_refusals_are_counted_by_reason_with_a_bounded_number_of_reasons() -> None:
    refusals = RefusalLog(Collected())
    refusals.record("5Caller", 403, "hotkey is not registered on the subnet")
    refusals.record("5Other", 403, "hotkey is not registered on the subnet")
    refusals.record(None, 431, "request head too large", "request head larger than 65536 bytes")
    assert refusals.by_reason() == {"hotkey is not registered on the subnet": 2, "request head too large": 1}
    for index in range(MAX_REASONS + 20):
        refusals.record(None, 500, f"internal error (Error{index})")
    counts = refusals.by_reason()
    assert len(counts) == MAX_REASONS + 1 and counts[OTHER_REASON] == 22


def test_metrics_are_served_over_http_on_loopback_and_stop_with_the_server(tracker: MinerStageTracker,
                                                                           clock: SteppedClock) -> None:
    logger = Collected()
    server, _ = start_metrics(sources(tracker, clock), "127.0.0.1", 0, logger)
    url = f"http://127.0.0.1:{server.port}/metrics"
    try:
        with urllib.request.urlopen(url, timeout=10) as answer:
            assert answer.status == 200
            assert answer.headers["Content-Type"].startswith("text/plain; version=0.0.4")
            assert "content_miner_stage_duration_seconds_bucket{" in answer.read().decode()
        for path in ("/", "/admin", "/metrics.php", "/metricsx"):  # prometheus_client alone serves them all
            with pytest.raises(urllib.error.HTTPError) as missing:
                urllib.request.urlopen(f"http://127.0.0.1:{server.port}{path}", timeout=10)
            assert missing.value.code == 404 and b"/metrics" in missing.value.read()
        assert server.endpoint_fields() == {"metrics_host": "127.0.0.1", "metrics_port": server.port}
    finally:
        server.stop()
    assert logger.texts() == [f"📈 Metrics at http://127.0.0.1:{server.port}/metrics (Prometheus)"]  # no warning
    with pytest.raises(ConnectionRefusedError):  # closed with the server, not left to the process's exit
        socket.create_connection(("127.0.0.1", server.port), timeout=5)


def test_metrics_connections_are_bounded_and_silent_ones_closed_after_the_read_timeout(
        tracker: MinerStageTracker, clock: SteppedClock) -> None:
    server, _ = start_metrics(sources(tracker, clock), "127.0.0.1", 0, Collected())
    url = f"http://127.0.0.1:{server.port}/metrics"
    silent: list[socket.socket] = []
    try:
        for _ in range(METRICS_MAX_CONNECTIONS):
            silent.append(socket.create_connection(("127.0.0.1", server.port), timeout=METRICS_READ_TIMEOUT_S + 20))
            silent[-1].sendall(b"GET /metr")  # half a request line, then nothing
        with socket.create_connection(("127.0.0.1", server.port), timeout=METRICS_READ_TIMEOUT_S + 20) as extra:
            assert extra.recv(100) == b""  # one too many: closed unanswered
        for sock in silent:  # each closed by the server once silent for the read timeout
            assert sock.recv(100) == b""
        with urllib.request.urlopen(url, timeout=10) as answer:  # and served again
            assert answer.status == 200
    finally:
        for sock in silent:
            sock.close()
        server.stop()


@pytest.mark.parametrize(("host", "loopback"), [("127.0.0.1", True), ("127.0.0.2", True), ("::1", True),
                                                ("[::1]", True), ("localhost", True), ("0.0.0.0", False),
                                                ("::", False), ("192.0.2.10", False)])
def test_only_a_host_beyond_loopback_gets_the_unauthenticated_warning(host: str, loopback: bool) -> None:
    assert usable_host(host) and is_loopback(host) is loopback
    warning = exposure_warning(host, 9188)
    assert (warning is None) is loopback
    if warning:
        assert "\n" not in warning and "unauthenticated" in warning and f"{host}:9188" in warning
