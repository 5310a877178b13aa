"""The miner's /metrics, all real: `neurons/miner.py --mock` (the packaged sample account queued at
start), its /metrics on a loopback port it chose and announced in run/miner.json, scraped over HTTP,
then by a real Prometheus server (Debian's package) whose HTTP API is asked for the stage histogram
of the sample account, with the project's alert rules loaded and evaluated on the live series.
One miner serves every test in this file."""

from __future__ import annotations

import json
import re
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import psutil
import pytest
from prometheus_client.parser import text_string_to_metric_families

from content_miner.common.endpoints import read_endpoint
from content_miner.common.layout import DataLayout
from content_miner.neuron.axon_errors import HOTKEY_HEADER
from content_miner.neuron.miner_client import MinerClient, axon_info, mock_keys
from content_miner.tracker import MinerStageTracker
from content_miner.tracker.log_tally import DURATION_BUCKETS_S
from support.miner import REPO, MinerRun, run
from support.prometheus import Prometheus, binary
from support.raw_http import exchange, request_bytes
from support.waiting import wait_for

SAMPLE = "sample_creator"
ALERTS = REPO / "contrib" / "prometheus" / "alerts.yml"
DASHBOARD = REPO / "contrib" / "grafana" / "content-miner.json"
Samples = dict[tuple[str, frozenset[tuple[str, str]]], float]


@pytest.fixture(scope="module")
def miner(tmp_path_factory: pytest.TempPathFactory) -> Iterator[MinerRun]:
    root = tmp_path_factory.mktemp("metrics")
    (root / "data").mkdir()
    run_ = MinerRun(root / "data", root / "miner.log", "--status.interval", "5")
    run_.start()
    try:
        run_.wait_line(r"Stage monitoring activated", timeout=90)
        yield run_
    finally:
        run_.kill_all()


@pytest.fixture(scope="module")
def endpoint(miner: MinerRun) -> dict[str, Any]:
    miner.axon_port  # noqa: B018  (waits for run/miner.json, failing with the log if the miner exited)
    info = read_endpoint(DataLayout(miner.data_dir).endpoint_file("miner"))
    assert info is not None
    return info


def scrape(port: int) -> Samples:
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=10) as answer:
        assert answer.status == 200
        text = answer.read().decode()
    found: Samples = {}
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            found[(sample.name, frozenset(sample.labels.items()))] = sample.value
    return found


def dashboard_queries() -> list[tuple[str, str]]:
    dashboard = json.loads(DASHBOARD.read_text())
    return [(panel["title"], target["expr"]) for panel in dashboard["panels"] for target in panel.get("targets", [])]


def test_the_alerts_and_the_dashboard_name_only_series_the_miner_serves(endpoint: dict[str, Any]) -> None:
    with urllib.request.urlopen(f"http://127.0.0.1:{endpoint['metrics_port']}/metrics", timeout=10) as answer:
        types = re.findall(r"^# TYPE (\S+) (\S+)$", answer.read().decode(), re.MULTILINE)
    served = {name for name, _ in types} | {f"{name}_{part}" for name, kind in types if kind == "histogram"
                                             for part in ("bucket", "sum", "count")}
    texts = [ALERTS.read_text(), *(expression for _, expression in dashboard_queries())]
    named = {name for text in texts for name in re.findall(r"\bcontent_miner_[a-z_]+", text)}
    assert named and named <= served, named - served
    assert {"content_miner_stage_duration_seconds_bucket", "content_miner_stage_transitions_total",
            "content_miner_stages", "content_miner_module_state", "content_miner_jobs"} <= named


def value(samples: Samples, name: str, **labels: str) -> float | None:
    wanted = set(labels.items())
    matches = [found for (metric, key), found in samples.items() if metric == name and wanted <= key]
    assert len(matches) <= 1, (name, labels, matches)
    return matches[0] if matches else None


def test_metrics_are_served_on_loopback_on_the_announced_port_with_hotkey_and_netuid(
        miner: MinerRun, endpoint: dict[str, Any]) -> None:
    port = endpoint["metrics_port"]
    assert endpoint["metrics_host"] == "127.0.0.1" and isinstance(port, int)
    assert miner.process is not None
    listening = [conn.laddr for conn in psutil.Process(miner.process.pid).net_connections("tcp")
                 if conn.status == psutil.CONN_LISTEN and conn.laddr.port == port]
    assert [address.ip for address in listening] == ["127.0.0.1"]
    miner.wait_line(rf"📈 Metrics at http://127\.0\.0\.1:{port}/metrics \(Prometheus\)")
    assert "unauthenticated" not in miner.log()

    def modules_running() -> Samples | None:
        samples = scrape(port)
        running = [value(samples, "content_miner_module_state", module=module, state="Running")
                   for module in ("module1", "module2")]
        return samples if running == [1, 1] else None

    samples = wait_for(modules_running, timeout=90, what="both modules Running in /metrics")
    for (_, labels), _found in samples.items():
        assert dict(labels)["hotkey"] == endpoint["hotkey"] and dict(labels)["netuid"] == "7", labels
    for process in ("miner", "module1", "module2"):
        assert (value(samples, "content_miner_resident_memory_bytes", process=process) or 0) > 20 * 2**20
    assert value(samples, "content_miner_module_restarts_total", module="module1") == 0
    assert value(samples, "content_miner_jobs", state="queued") is not None
    assert value(samples, "content_miner_metrics_errors_total", part="stage_log") == 0


def test_axon_answers_are_counted_by_synapse_and_status_and_refusals_by_reason(
        miner: MinerRun, endpoint: dict[str, Any]) -> None:
    axon = endpoint["axon_port"]
    headers = {"content-type": "application/json"}
    nobody = exchange(axon, request_bytes("/StageStatusSynapse", headers, b"{}"))
    stranger = exchange(axon, request_bytes("/StageStatusSynapse", {**headers, HOTKEY_HEADER: "5Stranger"}, b"{}"))
    assert nobody is not None and nobody.status == 403
    assert stranger is not None and stranger.status == 403
    keys = mock_keys(miner.data_dir)
    client = MinerClient(keys.validator, axon_info(keys.miner_hotkey, keys.miner_coldkey, "127.0.0.1", axon))
    try:
        answer = run(client.status(SAMPLE))
    finally:
        run(client.close())
    assert answer.dendrite is not None and answer.dendrite.status_code == 200

    samples = scrape(endpoint["metrics_port"])
    assert value(samples, "content_miner_axon_requests_total", synapse="StageStatusSynapse", status="403") == 2
    assert value(samples, "content_miner_axon_requests_total", synapse="StageStatusSynapse", status="200") == 1
    assert value(samples, "content_miner_axon_requests_total", synapse="ContentPlanSynapse", status="200") == 0
    assert value(samples, "content_miner_axon_refusals_total", reason="no hotkey in the request") == 1
    assert value(samples, "content_miner_axon_refusals_total", reason="hotkey is not registered on the subnet") == 1


def test_prometheus_scrapes_the_miner_and_answers_with_the_sample_accounts_stage_histogram(
        miner: MinerRun, endpoint: dict[str, Any], tmp_path: Path) -> None:
    binary("prometheus")
    tracker = MinerStageTracker(miner.data_dir / "miner_status.json")

    def sample_done() -> dict[int, float] | None:
        events = [event for event in tracker.read_events() if event["source"] == "module1"
                  and event["username"] == SAMPLE and event["status"] == "completed"]
        if not any(event["stage_number"] == 7 for event in events):
            return None
        return {event["stage_number"]: event["duration_s"] for event in events if event["stage_number"] != 7}

    durations = wait_for(sample_done, timeout=180, interval=0.5, what="the sample account's plan")
    assert sorted(durations) == [1, 2, 3, 4, 5, 6]
    tracker.close()

    config = f"""
global:
  scrape_interval: 1s
  evaluation_interval: 1s
rule_files:
  - {ALERTS}
scrape_configs:
  - job_name: content-miner
    static_configs:
      - targets: ["127.0.0.1:{endpoint['metrics_port']}"]
"""
    prometheus = Prometheus(tmp_path / "prometheus", config).start()
    try:
        mine = f'hotkey="{endpoint["hotkey"]}", netuid="7", source="module1"'

        def histogram_scraped() -> list[dict[str, Any]] | None:
            # Stages 1-6 are the account's (Stage 0 is Module 1's own start-up, Stage 7 has no duration).
            found = prometheus.query(f'content_miner_stage_duration_seconds_count{{{mine}, stage=~"[1-6]"}} > 0')
            return found if len(found) == 6 else None

        counts = wait_for(histogram_scraped, timeout=60, interval=0.5, what="Prometheus to scrape the histogram")
        assert sorted(int(entry["metric"]["stage"]) for entry in counts) == [1, 2, 3, 4, 5, 6]
        assert {entry["value"][1] for entry in counts} == {"1"}  # one run of each stage: the sample account's
        sums = {int(entry["metric"]["stage"]): float(entry["value"][1])
                for entry in prometheus.query(f"content_miner_stage_duration_seconds_sum{{{mine}}}")}
        for stage, seconds in durations.items():
            assert sums[stage] == pytest.approx(seconds, rel=1e-6, abs=1e-6), stage
        buckets = prometheus.query(f'content_miner_stage_duration_seconds_bucket{{{mine}, stage="3"}}')
        assert len(buckets) == len(DURATION_BUCKETS_S) + 1
        for entry in buckets:
            bound = float(entry["metric"]["le"])
            assert entry["value"][1] == ("1" if durations[3] <= bound else "0"), (entry, durations[3])
        [median] = prometheus.query(f'histogram_quantile(0.5, content_miner_stage_duration_seconds_bucket{{{mine}, '
                                    f'stage="3"}})')
        assert 0 < float(median["value"][1]) <= min(b for b in DURATION_BUCKETS_S if b >= durations[3])
        [up] = prometheus.query('up{job="content-miner"}')
        assert up["value"][1] == "1"

        def rules_evaluated() -> list[dict[str, Any]] | None:
            groups = prometheus.api("rules")["groups"]
            rules = [rule for group in groups for rule in group["rules"]]
            return rules if rules and all(rule["health"] == "ok" for rule in rules) else None

        rules = wait_for(rules_evaluated, timeout=30, interval=0.5, what="the alert rules to be evaluated")
        assert len(rules) == 7 and {rule["name"] for rule in rules} >= {
            "ContentMinerModuleErrored", "ContentMinerStageStalled", "ContentMinerStageFailureRate",
            "ContentMinerNoPlanCompleted", "ContentMinerQueueGrowing"}
        assert not [rule["name"] for rule in rules if rule["state"] == "firing"]

        # Every query of the Grafana dashboard runs on this Prometheus, with the dashboard's variables
        # set to this miner (the rates are 0 here: the sample account was done before the first scrape).
        variables = {"$hotkey": endpoint["hotkey"], "$netuid": "7", "$__rate_interval": "1m", "$__range": "1h",
                     "$__interval": "1m"}
        answered = {}
        for title, expression in dashboard_queries():
            for name, setting in variables.items():
                expression = expression.replace(name, setting)
            assert "$" not in expression, expression
            answered[title] = prometheus.query(expression)
        for title in ("Module state", "Resident memory (with each module's children)", "Job queue", "Uptime"):
            assert answered[title], title
    finally:
        prometheus.stop()
    assert prometheus.process is not None and prometheus.process.returncode == 0, prometheus.log()[-2000:]

