"""Module 2 for tests: in this process through its ASGI app (routes, rendering, plan handling), or as
the real subprocess talking real HTTP (signals, start-up, ports, what the server parses)."""

from __future__ import annotations

import http.client
import io
import logging
import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import httpx
from PIL import Image

from content_miner.common.endpoints import read_endpoint
from content_miner.common.layout import DataLayout
from content_miner.pipeline.plan import ContentPlan
from support.waiting import wait_for

REPO = Path(__file__).resolve().parents[2]
MINERS = REPO / "Miners"
MAIN = MINERS / "Module2" / "main.py"
POLL_INTERVAL = "0.2"

def clean_env(home: Path) -> dict[str, str]:
    """A bare environment for the service: HOME (and TMPDIR) are empty folders outside the data
    directory, and nothing like PYTHONDONTWRITEBYTECODE or MINER_* does the service's job for it,
    so tests see whether it keeps its own files in the data directory and the source tree clean."""
    tmp = home.parent / f"{home.name}-tmp"
    for folder in (home, tmp):
        folder.mkdir(parents=True, exist_ok=True)
    return {"PATH": os.environ.get("PATH", os.defpath), "HOME": str(home), "TMPDIR": str(tmp)}


def bytecode_dirs() -> set[Path]:
    return set(MINERS.rglob("__pycache__"))


def process_state(pid: int) -> str:
    """The one-letter state in /proc/PID/stat: R running, S sleeping, T stopped, Z zombie..."""
    stat = Path(f"/proc/{pid}/stat").read_text()
    return stat[stat.rindex(")") + 2]


def catches(pid: int, signum: int) -> bool:
    """Whether the process has a handler installed for `signum` (the SigCgt mask in /proc/PID/status)."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("SigCgt:"):
            return bool(int(line.split()[1], 16) & (1 << (signum - 1)))
    return False


def plan_file(data_dir: Path, platform: str, username: str) -> Path:
    return data_dir / "exports" / platform / username / "content_plan.json"


def write_plan_bytes(data_dir: Path, platform: str, username: str, raw: bytes) -> Path:
    """Write like Module 1 does: a temp file beside the target, then an atomic rename."""
    path = plan_file(data_dir, platform, username)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{time.monotonic_ns()}.tmp")
    tmp.write_bytes(raw)
    os.replace(tmp, path)
    return path


def write_plan(data_dir: Path, plan: ContentPlan) -> Path:
    return write_plan_bytes(data_dir, plan.platform, plan.username, plan.model_dump_json().encode())


class Module2:
    """One run of `python Miners/Module2/main.py` with its own log file."""

    def __init__(self, data_dir: Path, log_path: Path, home: Path) -> None:
        self.data_dir = data_dir
        self.log_path = log_path
        self.home = home
        self.port = 0  # chosen by the service and read back from run/module2.json once it listens
        self.client = httpx.Client(timeout=5.0)
        self.process: subprocess.Popen[bytes] | None = None

    def launch(self, *extra: str) -> subprocess.Popen[bytes]:
        """Start the process and return at once (`start` also waits for it to answer)."""
        with self.log_path.open("ab") as log:
            self.process = subprocess.Popen(
                [
                    sys.executable, str(MAIN), "--data-dir", str(self.data_dir), "--port", "0",
                    "--poll-interval", POLL_INTERVAL, *extra,
                ],
                stdout=log,
                stderr=subprocess.STDOUT,
                cwd=self.data_dir,
                env=clean_env(self.home),
            )
        return self.process

    def start(self, *extra: str) -> Module2:
        self.launch(*extra)
        wait_for(self._healthy, timeout=20, what="the service to answer /health", ignore=(httpx.HTTPError, OSError))
        return self

    def _healthy(self) -> bool:
        assert self.process is not None
        if self.process.poll() is not None:
            raise AssertionError(f"service exited with {self.process.returncode}:\n{self.log()}")
        info = read_endpoint(DataLayout(self.data_dir).endpoint_file("module2"))
        if info is None or info.get("pid") != self.process.pid:
            return False
        self.port = int(info["port"])
        self.client.base_url = httpx.URL(f"http://127.0.0.1:{self.port}")
        health = self.client.get("/health")
        return health.status_code == 200 and health.json()["scans"] > 0

    def get(self, path: str) -> httpx.Response:
        return self.client.get(path)

    def raw_get(self, raw_path: str) -> tuple[int, bytes]:
        """GET with the path sent exactly as given (no client-side normalisation of '..' or escapes)."""
        connection = http.client.HTTPConnection("127.0.0.1", self.port, timeout=5)
        try:
            connection.putrequest("GET", raw_path, skip_accept_encoding=True)
            connection.endheaders()
            response = connection.getresponse()
            return response.status, response.read()
        finally:
            connection.close()

    def account(self, platform: str, username: str) -> dict[str, Any] | None:
        response = self.get(f"/accounts/{platform}/{username}")
        return response.json() if response.status_code == 200 else None

    def wait_ready(
        self, platform: str, username: str, *, sha256: str | None = None, timeout: float = 20.0
    ) -> dict[str, Any]:
        def ready() -> dict[str, Any] | None:
            account = self.account(platform, username)
            if account and account["status"] == "ready" and (sha256 is None or account["plan_sha256"] == sha256):
                return account
            return None

        return wait_for(ready, timeout=timeout, what=f"images of {platform}/{username} to be ready",
                        ignore=(httpx.HTTPError, OSError))

    def image(self, url: str) -> Image.Image:
        response = self.get(url)
        assert response.status_code == 200, response.text
        assert response.headers["content-type"] == "image/png"
        image = Image.open(io.BytesIO(response.content))
        image.load()
        return image

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")

    def send(self, signum: int) -> None:
        assert self.process is not None
        self.process.send_signal(signum)

    def wait(self, timeout: float) -> int:
        """Wait up to `timeout` for the process to end by itself; returns the exit code."""
        assert self.process is not None
        code = self.process.wait(timeout=timeout)
        self.client.close()
        return code

    def stop(self, timeout: float = 5.0) -> int:
        """SIGTERM, then wait up to `timeout`; returns the exit code."""
        assert self.process is not None
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
        code = self.process.wait(timeout=timeout)
        self.client.close()
        return code

    def kill(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.kill()
            self.process.wait(timeout=5)
        self.client.close()


class InProcessModule2:
    """Module 2's service and ASGI app in this process, with the same test interface as `Module2`
    (no HTTP server, no process): for routes, rendering and plan handling."""

    def __init__(self, data_dir: Path, log_path: Path) -> None:
        from fastapi.testclient import TestClient

        from content_miner.images.api import create_app
        from content_miner.images.renderer import create_renderer
        from content_miner.images.service import ImageService
        from content_miner.images.settings import ServiceSettings

        self.data_dir = data_dir
        self.log_path = log_path
        paths = DataLayout(data_dir)  # its stage lines: the caller points $MINER_STATUS_FILE at this data dir
        self._handler = logging.FileHandler(log_path)
        self._handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
        logging.getLogger("content_miner.images").addHandler(self._handler)
        logging.getLogger("content_miner.images").setLevel(logging.INFO)
        settings = ServiceSettings(layout=paths, port=0, poll_interval_s=float(POLL_INTERVAL))
        self.service = ImageService(settings, create_renderer(settings.renderer))
        self.client = TestClient(create_app(self.service))

    def start(self) -> InProcessModule2:
        self.service.start()
        wait_for(lambda: self.get("/health").json()["scans"] > 0, timeout=20, what="the first plan scan")
        return self

    def get(self, path: str) -> httpx.Response:
        return self.client.get(path)

    def account(self, platform: str, username: str) -> dict[str, Any] | None:
        response = self.get(f"/accounts/{platform}/{username}")
        return response.json() if response.status_code == 200 else None

    wait_ready = Module2.wait_ready
    image = Module2.image

    def log(self) -> str:
        self._handler.flush()
        return self.log_path.read_text(errors="replace") if self.log_path.exists() else ""

    def stop(self, timeout: float = 5.0) -> int:
        self.service.stop(timeout_s=timeout)
        logging.getLogger("content_miner.images").removeHandler(self._handler)
        self._handler.close()
        self.client.close()
        return 0

    kill = stop
