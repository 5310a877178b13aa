"""The miner's flags and --config file, through the entry point's own code: every unusable value is
refused in one line with exit code 2, before anything starts; bittensor's --config, --strict and
--no_version_checking work."""

from __future__ import annotations

import asyncio
from pathlib import Path

import aiohttp
import pytest

from content_miner.neuron.config import build_config
from content_miner.neuron.config_checks import check_config
from content_miner.neuron.shutdown_budget import MAX_STOP_TIMEOUT_S
from support.flags import refusal


@pytest.fixture(autouse=True)
def _restore_bittensor_env(monkeypatch: pytest.MonkeyPatch) -> None:
    # build_config sets BT_NO_PARSE_CLI_ARGS for bt.Config: put it back after each test.
    monkeypatch.setenv("BT_NO_PARSE_CLI_ARGS", "true")


@pytest.mark.parametrize(("flags", "reason"), [
    (["--axon.port", "80"],
     "--axon.port must be 0 (any free port) or 1025-65534 (bittensor's axon refuses other ports), got 80"),
    (["--axon.port", "65535"],
     "--axon.port must be 0 (any free port) or 1025-65534 (bittensor's axon refuses other ports), got 65535"),
    (["--axon.external_port", "1000"], "--axon.external_port must be 1025-65534"),
    (["--axon.max_workers", "0"], "--axon.max_workers must be >= 1, got 0"),
    (["--module2.port", "-1"], "--module2.port must be 0 (any free port) or 1-65535, got -1"),
    (["--module2.port", "70000"], "--module2.port must be 0 (any free port) or 1-65535, got 70000"),
    (["--axon.port", "9000", "--module2.port", "9000"], "--module2.port must be another port than --axon.port"),
    (["--netuid", "70000"], "--netuid must be 0-65535, got 70000"),
    (["--status.interval", "inf"], "--status.interval must be > 0 and finite, got inf"),
    (["--stages.poll_interval", "nan"], "--stages.poll_interval must be > 0 and finite, got nan"),
    (["--metagraph.sync_interval", "0"], "--metagraph.sync_interval must be > 0 and finite, got 0.0"),
    (["--supervisor.stable_seconds", "-1"], "--supervisor.stable_seconds must be >= 0, got -1.0"),
    (["--supervisor.stop_timeout", "0"], "--supervisor.stop_timeout must be > 0 and at most 6"),
    (["--supervisor.stop_timeout", "6.5"], "--supervisor.stop_timeout must be > 0 and at most 6"),
    (["--supervisor.health_interval", "0"], "--supervisor.health_interval must be > 0 and finite, got 0.0"),
    (["--supervisor.health_timeout", "-2"], "--supervisor.health_timeout must be > 0 and finite, got -2.0"),
    (["--supervisor.health_failures", "0"], "--supervisor.health_failures must be >= 1, got 0"),
    (["--tracker.keep_days", "0"], "--tracker.keep_days must be > 0 and finite, got 0.0"),
    (["--tracker.keep_days", "inf"], "--tracker.keep_days must be > 0 and finite, got inf"),
    (["--tracker.max_rows", "999"], "--tracker.max_rows must be >= 1000, got 999"),
    (["--axon.max_header_bytes", "4096"], "--axon.max_header_bytes must be 8192-1048576"),
    (["--axon.read_timeout", "0"], "--axon.read_timeout must be 0.1-300 seconds, got 0.0"),
    (["--axon.read_timeout", "nan"], "--axon.read_timeout must be 0.1-300 seconds, got nan"),
    (["--axon.keep_alive", "0"], "--axon.keep_alive must be 1-3600 seconds, got 0"),
    (["--axon.max_connections", "0"], "--axon.max_connections must be 1-20000 (each is a file descriptor), got 0"),
    (["--axon.head_strikes", "-1"], "--axon.head_strikes must be 0 (never) to 1000, got -1"),
    (["--axon.strike_window", "0"], "--axon.strike_window must be 1-3600 seconds, got 0.0"),
    (["--axon.cooldown", "inf"], "--axon.cooldown must be 1-3600 seconds, got inf"),
    (["--axon.nonce_window", "0.5"], "--axon.nonce_window must be 1-600 seconds, got 0.5"),
    (["--axon.refusal_log_interval", "inf"], "--axon.refusal_log_interval must be 1-3600 seconds, got inf"),
    (["--axon.prt", "9000"], "unrecognized arguments: --axon.prt 9000 (see --help)"),
    (["--conf", "x.yaml"], "unrecognized arguments: --conf x.yaml (see --help)"),  # no abbreviations
])
def test_unusable_values_are_refused_in_one_line(capsys: pytest.CaptureFixture[str], tmp_path: Path,
                                                  flags: list[str], reason: str) -> None:
    assert refusal(capsys, tmp_path, *flags).startswith(reason)


@pytest.mark.parametrize(("text", "reason"), [
    ("axon.prot: 9000\n", "unknown setting 'axon.prot'"),
    ("axon:\n  port: [9000]\n", "axon.port: expected a single value, got list"),
    ("axon:\n  port: nine\n", "axon.port: expected int, got 'nine'"),
    ("mock: 1\n", "mock: expected true or false, got 1"),
    ("status: {interval: [\n", "not valid YAML (line 2)"),
    ("- a list\n", "must hold settings as `name: value` lines"),
    ("config: other.yaml\n", "unknown setting 'config'"),
])
def test_a_bad_config_file_is_refused_in_one_line_naming_the_problem(
        capsys: pytest.CaptureFixture[str], tmp_path: Path, text: str, reason: str) -> None:
    config = tmp_path / "miner.yaml"
    config.write_text(text)
    assert refusal(capsys, tmp_path, "--config", str(config)) == f"--config {config}: {reason} (see --help)"


def test_values_from_the_config_file_are_checked_like_flags(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    config = tmp_path / "miner.yaml"
    config.write_text("supervisor:\n  stop_timeout: 60\n")
    assert refusal(capsys, tmp_path, "--config", str(config)).startswith(
        "--supervisor.stop_timeout must be > 0 and at most 6")
    assert refusal(capsys, tmp_path, "--config", str(tmp_path / "missing.yaml")) == (
        f"--config {tmp_path / 'missing.yaml'}: cannot read it: No such file or directory (see --help)")


def test_config_file_settings_nested_or_dotted_are_defaults_that_flags_override(tmp_path: Path) -> None:
    config = tmp_path / "miner.yaml"
    # The nested layout is what `print(bt.Config)` writes; bittensor's own loader would replace the
    # whole `axon` section with it (losing axon.ip, axon.max_workers ...).
    config.write_text("netuid: 9\naxon:\n  port: 9123\nstatus:\n  interval: 2\nblacklist.burst: 7\n"
                      "blacklist:\n  force_validator_permit: false\nlogging:\n  debug: true\ndata-dir: /srv/miner\n")
    only_file = build_config(["--config", str(config)])
    assert (only_file.netuid, only_file.axon.port, only_file.status.interval,
            only_file.blacklist.burst) == (9, 9123, 2.0, 7)
    assert only_file.blacklist.force_validator_permit is False and only_file.logging.debug is True
    assert only_file.data_dir == "/srv/miner" and only_file.config == str(config)
    assert only_file.axon.ip == "[::]" and only_file.axon.max_workers == 10  # the rest of `axon` is kept
    assert check_config(only_file) is None

    overridden = build_config([f"--config={config}", "--status.interval", "3", "--netuid", "4", "--strict",
                               "--no_version_checking"])
    assert (overridden.netuid, overridden.axon.port, overridden.status.interval) == (4, 9123, 3.0)
    assert overridden.strict is True and overridden.no_version_checking is True
    assert check_config(overridden) is None


def test_the_longest_stop_timeout_the_shutdown_budget_allows_is_accepted(tmp_path: Path) -> None:
    longest = build_config(["--supervisor.stop_timeout", f"{MAX_STOP_TIMEOUT_S:g}", "--data-dir", str(tmp_path)])
    assert check_config(longest) is None and longest.supervisor.stop_timeout == 6.0


def test_stage_log_retention_has_documented_defaults_and_can_be_set(tmp_path: Path) -> None:
    default = build_config(["--data-dir", str(tmp_path)])
    assert (default.tracker.keep_days, default.tracker.max_rows) == (30.0, 1_000_000)
    config = tmp_path / "miner.yaml"
    config.write_text("tracker:\n  keep_days: 7\n")
    chosen = build_config(["--config", str(config), "--tracker.max_rows", "5000"])
    assert (chosen.tracker.keep_days, chosen.tracker.max_rows) == (7.0, 5000)
    assert check_config(chosen) is None


def test_the_axon_keeps_idle_connections_longer_than_a_dendrite_reuses_them(tmp_path: Path) -> None:
    """A Dendrite's aiohttp session reuses an idle connection for its connector's keep-alive time; a server
    that closes it sooner has requests sent on connections it is closing (503 "Server disconnected")."""
    async def dendrite_keep_alive() -> float:
        connector = aiohttp.TCPConnector()  # what bt.Dendrite's `aiohttp.ClientSession()` makes
        try:
            return float(connector._keepalive_timeout)
        finally:
            await connector.close()

    defaults = build_config(["--data-dir", str(tmp_path)])
    assert check_config(defaults) is None
    assert defaults.axon.keep_alive > asyncio.run(dendrite_keep_alive()) == 15.0
    limits = (defaults.axon.max_header_bytes, defaults.axon.read_timeout, defaults.axon.max_connections,
              defaults.axon.nonce_window, defaults.axon.refusal_log_interval)
    assert limits == (65536, 10.0, 500, 60.0, 60.0)
    assert (defaults.axon.head_strikes, defaults.axon.strike_window, defaults.axon.cooldown) == (5, 60.0, 60.0)
