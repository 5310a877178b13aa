"""`--metrics.port` and `--metrics.host`: unusable values refused in one line before anything starts, a
taken port ends the start in one line, and a host beyond loopback is allowed with one warning line
(tried for real in a network namespace of the test's own, where 0.0.0.0 reaches nothing but itself)."""

from __future__ import annotations

import re
import socket
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest

from content_miner.common.endpoints import read_endpoint
from content_miner.common.layout import DataLayout
from content_miner.neuron.config import build_config
from content_miner.neuron.config_checks import check_config
from support.flags import refusal
from support.miner import MinerRun
from support.waiting import wait_for

HOST_RULE = "--metrics.host must be an IP address (127.0.0.1, ::1, 0.0.0.0, ...) or localhost"


@pytest.fixture(autouse=True)
def _restore_bittensor_env(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("BT_NO_PARSE_CLI_ARGS", "true")  # build_config sets it for bt.Config: put it back


@pytest.mark.parametrize(("flags", "reason"), [
    (["--metrics.port", "-1"], "--metrics.port must be 0 (any free port) or 1-65535, got -1"),
    (["--metrics.port", "65536"], "--metrics.port must be 0 (any free port) or 1-65535, got 65536"),
    (["--metrics.port", "http"], "argument --metrics.port: invalid int value: 'http' (see --help)"),
    (["--axon.port", "9300", "--metrics.port", "9300"],
     "--metrics.port must be another port than --axon.port, got 9300"),
    (["--module2.port", "9301", "--metrics.port", "9301"],
     "--metrics.port must be another port than --module2.port, got 9301"),
    (["--metrics.host", "metrics.example.org"], f"{HOST_RULE}, got metrics.example.org"),
    (["--metrics.host", ""], f"{HOST_RULE}, got "),
    (["--metrics.host", "127.0.0.1:9188"], f"{HOST_RULE}, got 127.0.0.1:9188"),
])
def test_unusable_metrics_settings_are_refused_in_one_line(capsys: pytest.CaptureFixture[str], tmp_path: Path,
                                                           flags: list[str], reason: str) -> None:
    assert refusal(capsys, tmp_path, *flags) == reason


def test_metrics_default_to_loopback_and_can_be_set_by_flag_or_config_file(tmp_path: Path) -> None:
    default = build_config(["--data-dir", str(tmp_path)])
    assert (default.metrics.host, default.metrics.port) == ("127.0.0.1", 9188)
    config = tmp_path / "miner.yaml"
    config.write_text("metrics:\n  port: 9200\n  host: '::1'\n")
    chosen = build_config(["--config", str(config)])
    assert (chosen.metrics.host, chosen.metrics.port) == ("::1", 9200) and check_config(chosen) is None
    flagged = build_config(["--config", str(config), "--metrics.port", "0", "--metrics.host", "0.0.0.0"])
    assert (flagged.metrics.host, flagged.metrics.port) == ("0.0.0.0", 0) and check_config(flagged) is None


def test_a_taken_metrics_port_ends_the_start_in_one_line(start_miner: Callable[..., MinerRun]) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        miner = start_miner("--no_sample", "--metrics.port", str(port))
        assert miner.process is not None and miner.process.wait(timeout=90) == 1
    log = miner.log()
    assert re.search(rf"ERROR.*Cannot start: cannot listen on 127\.0\.0\.1:{port} for /metrics: Address already in "
                     r"use \(--metrics\.port, --metrics\.host\)", log), log[-3000:]
    assert "Traceback" not in log and "Miner stopped" not in log
    assert read_endpoint(DataLayout(miner.data_dir).endpoint_file("miner")) is None


def _namespaces_usable() -> str | None:
    try:
        done = subprocess.run(["unshare", "--net", "sh", "-c", "ip link set lo up"], capture_output=True, text=True,
                              timeout=30)
    except (OSError, subprocess.TimeoutExpired) as err:
        return f"unshare/ip cannot be run: {err}"
    return None if done.returncode == 0 else f"cannot make a network namespace: {done.stderr.strip()[:200]}"


def test_a_host_beyond_loopback_is_served_with_one_warning_line(tmp_path: Path) -> None:
    problem = _namespaces_usable()
    if problem:
        pytest.skip(problem)
    data = tmp_path / "data"
    data.mkdir()
    # The miner in a network namespace of its own with only a loopback interface: 0.0.0.0 is all of it.
    netns = ("unshare", "--net", "sh", "-c", 'ip link set lo up && exec "$@"', "sh")
    miner = MinerRun(data, tmp_path / "miner.log", "--no_sample", "--metrics.host", "0.0.0.0", wrapper=netns)
    try:
        miner.start()
        miner.wait_line("Stage monitoring activated", timeout=90)
        info = wait_for(lambda: read_endpoint(DataLayout(data).endpoint_file("miner")), timeout=30,
                        what="run/miner.json")
        port = info["metrics_port"]
        assert info["metrics_host"] == "0.0.0.0" and isinstance(port, int) and port > 0
        warnings = [line for line in miner.lines() if "unauthenticated" in line]
        assert len(warnings) == 1 and "WARNING" in warnings[0], warnings
        assert f"/metrics listens on 0.0.0.0:{port}, beyond this machine, and is unauthenticated" in warnings[0]
        assert miner.process is not None
        fetch = (f"import urllib.request; print(urllib.request.urlopen('http://127.0.0.1:{port}/metrics', "
                 "timeout=10).read().decode().count('content_miner_info{'))")
        inside = subprocess.run(["nsenter", f"--net=/proc/{miner.process.pid}/ns/net", sys.executable, "-c", fetch],
                                capture_output=True, text=True, timeout=60)
        assert inside.returncode == 0 and inside.stdout.strip() == "1", inside.stderr[-2000:]
        assert miner.stop(timeout=20) == 0
    finally:
        miner.kill_all()
