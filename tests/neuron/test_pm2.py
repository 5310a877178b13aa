"""The miner under real pm2, with the project's own process file: start, stop, restart at once,
restart, kill -9; every log stays clean (no traceback, no colour codes, no stage failure at error).

pm2 comes from the npm registry (`.ci/run` installs it); where it cannot be had the test is skipped
with the reason. pm2 runs with its own PM2_HOME in the test's directory, never the user's.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from content_miner.common.endpoints import read_endpoint
from content_miner.common.layout import DataLayout
from support.waiting import wait_for

REPO = Path(__file__).resolve().parents[2]
APP = "content-miner"


def find_pm2(tmp: Path) -> str:
    found = shutil.which("pm2")
    if found:
        return found
    if not shutil.which("npm"):
        pytest.skip("pm2 is not installed and npm is not available to install it")
    done = subprocess.run(["npm", "install", "--prefix", str(tmp / "npm"), "pm2@7"], capture_output=True,
                          text=True, timeout=300)
    if done.returncode != 0:
        pytest.skip(f"pm2 is not installed and npm could not install it: {done.stderr.strip()[-300:]}")
    return str(tmp / "npm" / "node_modules" / ".bin" / "pm2")


class Pm2:
    def __init__(self, binary: str, home: Path) -> None:
        self.binary = binary
        self.env = {**os.environ, "PM2_HOME": str(home)}
        self.home = home

    def __call__(self, *args: str) -> str:
        done = subprocess.run([self.binary, *args], capture_output=True, text=True, timeout=60, env=self.env)
        assert done.returncode == 0, (args, done.stdout[-2000:], done.stderr[-2000:])
        return done.stdout

    def process(self) -> dict[str, Any] | None:
        apps = json.loads(self("jlist"))
        return next((app for app in apps if app["name"] == APP), None)

    def logs(self) -> str:
        return "".join(path.read_text(errors="replace") for path in sorted((self.home / "logs").glob("*.log")))


@pytest.fixture
def pm2(tmp_path: Path) -> Iterator[Pm2]:
    runner = Pm2(find_pm2(tmp_path), tmp_path / "pm2home")
    yield runner
    subprocess.run([runner.binary, "kill"], capture_output=True, timeout=60, env=runner.env)


def process_file(tmp_path: Path, data: Path) -> Path:
    """The project's process file as pm2 reads it, with an offline miner's arguments in place of a
    live one's (and this test's interpreter): every other setting is the shipped one."""
    node = f"console.log(JSON.stringify(require({json.dumps(str(REPO / 'contrib' / 'ecosystem.config.js'))})))"
    config = json.loads(subprocess.run(["node", "-e", node], capture_output=True, text=True, check=True).stdout)
    [app] = config["apps"]
    assert app["treekill"] is False and app["kill_timeout"] >= 10_000
    app.update(interpreter=sys.executable, args=["--mock", "--data-dir", str(data), "--axon.port", "0",
                                                 "--module2.port", "0", "--metrics.port", "0",
                                                 "--status.interval", "5"])
    path = tmp_path / "process.json"
    path.write_text(json.dumps(config))
    return path


def test_start_stop_restart_and_kill_9_under_pm2_leave_clean_logs(pm2: Pm2, tmp_path: Path) -> None:
    if not shutil.which("node"):
        pytest.skip("node is not available to read the process file")
    data = tmp_path / "data"
    endpoint = DataLayout(data).endpoint_file("miner")

    def serving(not_pid: int | None = None) -> int | None:
        info = read_endpoint(endpoint)
        return info["pid"] if info and info["pid"] != not_pid else None

    pm2("start", str(process_file(tmp_path, data)))
    first = wait_for(serving, timeout=90, what="the miner to serve")
    pm2("stop", APP)
    wait_for(lambda: (pm2.process() or {}).get("pm2_env", {}).get("status") == "stopped", timeout=30,
             what="pm2 to report it stopped")

    pm2("restart", APP)
    pm2("restart", APP)  # at once: the first run is stopped while it is still importing bittensor
    second = wait_for(lambda: serving(first), timeout=90, what="the restarted miner to serve")

    os.kill(second, signal.SIGKILL)  # pm2 brings it back; its modules die with it
    third = wait_for(lambda: serving(second), timeout=90, what="pm2 to restart the killed miner")
    pm2("stop", APP)
    wait_for(lambda: read_endpoint(endpoint) is None, timeout=30, what="the last miner to stop")

    logs = pm2.logs()
    module_logs = "".join(path.read_text(errors="replace") for path in (data / "logs").glob("*.log"))
    assert logs.count("Miner stopped") >= 2 and third != second
    for text in (logs, module_logs):
        assert "Traceback" not in text and "KeyboardInterrupt" not in text
    assert "\x1b[" not in logs, "plain lines when pm2 captures the output"
    assert "Failed" not in logs, "a planned stop, or an idle wait cut short, is not a stage failure"
