"""A real Prometheus server (Debian's `prometheus` package) for tests: a config of the test's own, its
database in the test's directory, listening on a loopback port it chooses itself (and logs), stopped
after. Tests skip with the reason where the package is not installed (`.ci/run` installs it as root)."""

from __future__ import annotations

import json
import re
import shutil
import signal
import subprocess
import urllib.error
import urllib.parse
import urllib.request
from pathlib import Path
from typing import Any

import pytest

from support.waiting import wait_for

LISTENING = re.compile(r'msg="Listening on" address=127\.0\.0\.1:(\d+)')


def binary(name: str) -> str:
    """The path of `prometheus` or `promtool`, or the test is skipped saying why."""
    found = shutil.which(name) or (f"/usr/bin/{name}" if Path(f"/usr/bin/{name}").exists() else None)
    if found is None:
        pytest.skip(f"{name} is not installed (Debian's `prometheus` package; .ci/run installs it when run as root)")
    return found


class Prometheus:
    def __init__(self, root: Path, config: str) -> None:
        self.root = root
        self.root.mkdir(parents=True, exist_ok=True)
        self.config = root / "prometheus.yml"
        self.config.write_text(config)
        self.log_path = root / "prometheus.log"
        self.process: subprocess.Popen[bytes] | None = None
        self.port = 0

    def start(self, timeout: float = 60.0) -> Prometheus:
        argv = [binary("prometheus"), f"--config.file={self.config}", f"--storage.tsdb.path={self.root / 'tsdb'}",
                "--web.listen-address=127.0.0.1:0", "--storage.tsdb.retention.time=1h", "--log.level=info"]
        with self.log_path.open("ab") as log:
            self.process = subprocess.Popen(argv, stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                                            cwd=self.root)

        def listening() -> int | None:
            found = LISTENING.search(self.log())
            if found is None and self.process is not None and self.process.poll() is not None:
                raise AssertionError(f"prometheus exited ({self.process.returncode}):\n{self.log()[-3000:]}")
            return int(found.group(1)) if found else None

        self.port = wait_for(listening, timeout=timeout, what="Prometheus to listen")

        def ready() -> bool:  # it listens before its database is open, and answers 503 until then
            with urllib.request.urlopen(f"http://127.0.0.1:{self.port}/-/ready", timeout=5) as answer:
                return bool(answer.status == 200)

        wait_for(ready, timeout=timeout, what="Prometheus to be ready", ignore=(OSError,))
        return self

    def log(self) -> str:
        return self.log_path.read_text(encoding="utf-8", errors="replace") if self.log_path.exists() else ""

    def api(self, path: str, **params: str) -> Any:
        """`data` of a Prometheus HTTP API answer (`/api/v1/...`); fails on an error answer."""
        query = f"?{urllib.parse.urlencode(params)}" if params else ""
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{self.port}/api/v1/{path}{query}", timeout=10) as answer:
                body = json.loads(answer.read())
        except urllib.error.HTTPError as err:  # the API says why in its body
            raise AssertionError(f"{path} {params}: HTTP {err.code}: {err.read()[:500]!r}") from None
        assert body["status"] == "success", body
        return body["data"]

    def query(self, expression: str) -> list[dict[str, Any]]:
        """An instant query's vector: [{"metric": {labels}, "value": [time, "value"]}, ...]."""
        data = self.api("query", query=expression)
        assert data["resultType"] == "vector", data
        return list(data["result"])

    def stop(self, timeout: float = 20.0) -> None:
        if self.process is None or self.process.poll() is not None:
            return
        self.process.send_signal(signal.SIGTERM)
        try:
            self.process.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait(timeout=10)
