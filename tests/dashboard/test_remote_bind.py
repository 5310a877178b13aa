"""A dashboard bound beyond loopback (0.0.0.0) needs its token: a real miner in a network namespace of
the test's own (only a loopback interface in it: 0.0.0.0 reaches nothing else), asked from inside it."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from content_miner.common.endpoints import read_endpoint
from content_miner.common.layout import DataLayout
from support.miner import MINER
from support.waiting import wait_for

TOKEN = "remote-bind-token-0123456789abcdef"
NETNS = ("unshare", "--net", "sh", "-c", 'ip link set lo up && exec "$@"', "sh")
ASK = r"""
import http.client, json, sys
port, token = int(sys.argv[1]), sys.argv[2]
def get(path, headers={}):
    c = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    c.request("GET", path, headers=headers)
    r = c.getresponse()
    return {"status": r.status, "headers": {k.lower(): v for k, v in r.getheaders()}, "body": r.read().decode()[:300]}
found = {"page": get("/", {"Accept": "text/html"}), "api": get("/api/accounts"), "wrong": get("/?token=x" * 3),
         "exchange": get("/?token=" + token)}
cookie = found["exchange"]["headers"].get("set-cookie", "").split(";")[0]
found["with_cookie"] = get("/api/overview", {"Cookie": cookie})
found["bearer"] = get("/api/accounts", {"Authorization": "Bearer " + token})
print(json.dumps(found))
"""


def _namespaces_usable() -> str | None:
    try:
        done = subprocess.run([*NETNS, "true"], capture_output=True, text=True, timeout=30)
    except (OSError, subprocess.TimeoutExpired) as err:
        return f"unshare/ip cannot be run: {err}"
    return None if done.returncode == 0 else f"cannot make a network namespace: {done.stderr.strip()[:200]}"


def test_a_remote_bind_refuses_without_the_token_and_works_with_it(tmp_path: Path) -> None:
    problem = _namespaces_usable()
    if problem:
        pytest.skip(problem)
    data, log = tmp_path / "data", tmp_path / "miner.log"
    data.mkdir()
    env = {k: v for k, v in os.environ.items() if not k.startswith(("MINER_", "BT_", "XDG_"))}
    env.update({"HOME": str(tmp_path / "home"), "PYTHONUNBUFFERED": "1", "MINER_DASHBOARD_TOKEN": TOKEN})
    argv = [*NETNS, sys.executable, str(MINER), "--mock", "--no_sample", "--netuid", "7", "--data-dir", str(data),
            "--axon.port", "0", "--module2.port", "0", "--dashboard.port", "0", "--dashboard.host", "0.0.0.0"]
    with log.open("ab") as out:
        miner = subprocess.Popen(argv, stdout=out, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, env=env)
    try:
        def listening() -> dict | None:
            assert miner.poll() is None, log.read_text()[-3000:]
            return read_endpoint(DataLayout(data).endpoint_file("dashboard"))

        info = wait_for(listening, timeout=90, what="run/dashboard.json")
        assert info["dashboard_host"] == "0.0.0.0"
        port = int(info["dashboard_port"])
        line = f"📊 Dashboard (read-only) on http://0.0.0.0:{port}/ (access token required)"
        # The endpoint file is written just before the line is logged (bittensor logs through a queue).
        wait_for(lambda: line in log.read_text(), timeout=30, what="the dashboard's start line")
        inside = subprocess.run(["nsenter", f"--net=/proc/{miner.pid}/ns/net", sys.executable, "-c", ASK, str(port),
                                 TOKEN], capture_output=True, text=True, timeout=60)
        assert inside.returncode == 0, inside.stderr[-2000:]
        found = json.loads(inside.stdout)
        assert found["page"]["status"] == 401 and "access token" in found["page"]["body"]
        assert found["api"]["status"] == 401 and found["wrong"]["status"] == 401
        assert found["exchange"]["status"] == 303 and found["exchange"]["headers"]["location"] == "/"
        assert found["with_cookie"]["status"] == 200 and '"viewers"' in found["with_cookie"]["body"]
        assert found["bearer"]["status"] == 200
        assert TOKEN not in log.read_text()  # the token is never logged
        miner.send_signal(signal.SIGTERM)
        assert miner.wait(timeout=20) == 0
    finally:
        if miner.poll() is None:
            miner.kill()
            miner.wait(timeout=10)
