"""contrib/prometheus: the alert rules pass `promtool check rules` and their unit tests pass `promtool test
rules` (each alert has a case that fires and one that must not); the tests fail when a rule is broken;
the scrape config passes `promtool check config`. Run on copies in the test's directory."""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

import pytest
import yaml

from support.miner import REPO
from support.prometheus import binary

CONTRIB = REPO / "contrib" / "prometheus"


@pytest.fixture
def rules_dir(tmp_path: Path) -> Path:
    copy = tmp_path / "prometheus"
    shutil.copytree(CONTRIB, copy)
    return copy


def promtool(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run([binary("promtool"), *args], capture_output=True, text=True, timeout=120, cwd=cwd)


def alert_names() -> list[str]:
    document = yaml.safe_load((CONTRIB / "alerts.yml").read_text())
    return [rule["alert"] for group in document["groups"] for rule in group["rules"]]


def test_the_alert_rules_and_the_scrape_config_pass_promtools_checks(rules_dir: Path) -> None:
    checked = promtool("check", "rules", "alerts.yml", cwd=rules_dir)
    assert checked.returncode == 0 and f"SUCCESS: {len(alert_names())} rules found" in checked.stdout, checked
    config = promtool("check", "config", "prometheus.yml", cwd=rules_dir)
    assert config.returncode == 0, config


def test_every_alert_has_unit_tests_that_fire_and_that_stay_quiet_and_they_pass(rules_dir: Path) -> None:
    names = alert_names()
    assert set(names) >= {"ContentMinerModuleErrored", "ContentMinerStageStalled", "ContentMinerStageFailureRate",
                          "ContentMinerNoPlanCompleted", "ContentMinerQueueGrowing"}
    tests = yaml.safe_load((CONTRIB / "alerts.test.yml").read_text())["tests"]
    cases = [case for test in tests for case in test["alert_rule_test"]]
    for name in names:
        assert any(case["alertname"] == name and case["exp_alerts"] for case in cases), f"{name}: nothing fires"
        assert any(case["alertname"] == name and not case["exp_alerts"] for case in cases), f"{name}: no quiet case"
    passed = promtool("test", "rules", "alerts.test.yml", cwd=rules_dir)
    assert passed.returncode == 0 and "SUCCESS" in passed.stdout, passed.stdout + passed.stderr


@pytest.mark.parametrize(("before", "after", "alert"), [
    (") > 0.25", ") > 0.6", "ContentMinerStageFailureRate"),  # 50 % failures would no longer fire
    ('{state="errored"}) == 1', '{state="Running"}) == 1', "ContentMinerModuleErrored"),
    ("content_miner_jobs_oldest_queued_age_seconds > 1800", "content_miner_jobs_oldest_queued_age_seconds > 0",
     "ContentMinerQueueGrowing"),  # the steady queue would fire
])
def test_the_unit_tests_catch_a_broken_rule(rules_dir: Path, before: str, after: str, alert: str) -> None:
    rules = rules_dir / "alerts.yml"
    text = rules.read_text()
    assert text.count(before) == 1
    rules.write_text(text.replace(before, after))
    failed = promtool("test", "rules", "alerts.test.yml", cwd=rules_dir)
    assert failed.returncode != 0 and f"alertname: {alert}," in failed.stdout + failed.stderr, failed


def test_the_grafana_dashboard_is_one_importable_json_over_its_own_variables() -> None:
    """What Grafana's "Import dashboard" needs: one JSON dashboard; every query goes to the Prometheus chosen
    in its `datasource` variable and is filtered by the `hotkey` and `netuid` variables (the queries
    themselves are run on a real Prometheus in test_metrics_endpoint)."""
    dashboard = json.loads((REPO / "contrib" / "grafana" / "content-miner.json").read_text())
    assert dashboard["uid"] == "content-miner" and dashboard["schemaVersion"] >= 36
    assert [variable["name"] for variable in dashboard["templating"]["list"]] == ["datasource", "hotkey", "netuid"]
    panels = [panel for panel in dashboard["panels"] if panel["type"] != "row"]
    assert len({panel["id"] for panel in dashboard["panels"]}) == len(dashboard["panels"])
    for panel in panels:
        assert panel["datasource"] == {"type": "prometheus", "uid": "${datasource}"}, panel["title"]
        assert panel["targets"], panel["title"]
        for target in panel["targets"]:
            assert 'hotkey=~"$hotkey", netuid=~"$netuid"' in target["expr"], (panel["title"], target["expr"])
        place = panel["gridPos"]
        assert 0 <= place["x"] and place["x"] + place["w"] <= 24, panel["title"]
