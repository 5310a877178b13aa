"""The dashboard's flags: off by default, loopback by default, and another address only with a token
(the flag or MINER_DASHBOARD_TOKEN), refused at start-up in one line that never shows the token."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from content_miner.neuron.config import build_config
from content_miner.neuron.config_checks import check_config
from support.miner import MINER

TOKEN = "a-long-enough-token-0123456789"


@pytest.fixture(autouse=True)
def restore_bt_env() -> Iterator[None]:
    before = os.environ.get("BT_NO_PARSE_CLI_ARGS")
    yield
    if before is None:
        os.environ.pop("BT_NO_PARSE_CLI_ARGS", None)
    else:
        os.environ["BT_NO_PARSE_CLI_ARGS"] = before


def test_the_dashboard_is_off_unless_a_port_is_given_and_loopback_by_default() -> None:
    config = build_config([])
    assert config.dashboard.port is None and config.dashboard.host == "127.0.0.1" and config.dashboard.token is None
    assert check_config(config) is None
    assert check_config(build_config(["--dashboard.port", "8095"])) is None


@pytest.mark.parametrize("args, problem", [
    (["--dashboard.port", "8095", "--dashboard.host", "0.0.0.0"], "set --dashboard.token"),
    (["--dashboard.port", "8095", "--dashboard.host", "10.1.2.3", "--dashboard.token", "short"], "at least 16"),
    (["--dashboard.port", "70000"], "--dashboard.port must be 0 (any free port) or 1-65535"),
    (["--dashboard.port", "8095", "--axon.port", "8095"], "another port than --axon.port"),
    (["--dashboard.port", "8095", "--dashboard.host", ""], "--dashboard.host must be an address"),
])
def test_unusable_dashboard_settings_are_one_line(args: list[str], problem: str) -> None:
    found = check_config(build_config(args))
    assert found is not None and problem in found and "short" not in found.split(":")[0]
    assert "\n" not in found


def test_another_address_with_a_token_is_accepted() -> None:
    config = build_config(["--dashboard.port", "8095", "--dashboard.host", "0.0.0.0", "--dashboard.token", TOKEN])
    assert check_config(config) is None


def _miner(tmp_path: Path, *args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    environ = {k: v for k, v in os.environ.items() if not k.startswith(("MINER_", "BT_"))}
    return subprocess.run([sys.executable, str(MINER), "--mock", "--data-dir", str(tmp_path / "data"), *args],
                          capture_output=True, text=True, timeout=120, env={**environ, **(env or {})})


def test_the_miner_refuses_a_remote_address_without_a_token_before_starting(tmp_path: Path) -> None:
    done = _miner(tmp_path, "--dashboard.port", "0", "--dashboard.host", "0.0.0.0")
    assert done.returncode == 2
    assert done.stderr.count("\n") == 1 and "--dashboard.token" in done.stderr and "SSH tunnel" in done.stderr
    assert "Traceback" not in done.stderr + done.stdout
    # The environment's token is the flag's stand-in, and a bad one is named, never shown.
    weak = "weak-token"
    done = _miner(tmp_path, "--dashboard.port", "0", "--dashboard.host", "0.0.0.0",
                  env={"MINER_DASHBOARD_TOKEN": weak})
    assert done.returncode == 2 and "at least 16 characters" in done.stderr and weak not in done.stderr
    assert not (tmp_path / "data" / "stage_log.sqlite3").exists(), "refused before anything started"
