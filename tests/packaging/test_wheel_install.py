"""`pip install .` as a user does it (a wheel, not editable): the miner runs from any directory, starts
both modules with `python -m`, and the sample account's plan and an image come back through the axon."""

from __future__ import annotations

import os
import signal
import subprocess
import zipfile
from pathlib import Path

import httpx
import psutil
import pytest

from content_miner.common.endpoints import read_endpoint
from content_miner.common.layout import DataLayout
from support.packaging import REPO, build_wheel, fresh_venv
from support.waiting import wait_for


@pytest.fixture(scope="module")
def wheel(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return build_wheel(REPO, tmp_path_factory.mktemp("dist"))


def test_the_wheel_holds_two_top_level_packages_and_the_four_commands(wheel: Path) -> None:
    with zipfile.ZipFile(wheel) as archive:
        names = archive.namelist()
        top_level = {name.split("/")[0] for name in names if ".dist-info/" not in name}
        entry_points = next(archive.read(n).decode() for n in names if n.endswith(".dist-info/entry_points.txt"))
    assert top_level == {"content_miner", "content_miner_protocol"}
    assert "content_miner/pipeline/samples/sample_account.jsonl" in names
    for asset in ("index.html", "main.js", "style.css", "charts.js", "account.js"):  # the dashboard's page
        assert f"content_miner/dashboard/assets/{asset}" in names
    for command in ("content-miner", "content-miner-status", "content-miner-module1", "content-miner-module2"):
        assert f"{command} = " in entry_points


def test_an_installed_wheel_serves_the_sample_plan_and_an_image_from_any_directory(wheel: Path, tmp_path: Path) -> None:
    bin_dir = fresh_venv(tmp_path / "venv", wheel)
    elsewhere, data = tmp_path / "elsewhere", tmp_path / "data"
    elsewhere.mkdir()
    env = {"PATH": f"{bin_dir}:/usr/bin:/bin", "HOME": str(tmp_path / "home"), "PYTHONUNBUFFERED": "1"}
    log = tmp_path / "miner.log"
    with log.open("wb") as out:
        miner = subprocess.Popen([str(bin_dir / "content-miner"), "--mock", "--data-dir", str(data),
                                  "--axon.port", "0", "--module2.port", "0", "--metrics.port", "0",
                                  "--status.interval", "5", "--dashboard.port", "0"],
                                 stdout=out, stderr=subprocess.STDOUT, cwd=elsewhere, env=env)
    try:
        def listening() -> bool:
            assert miner.poll() is None, log.read_text()[-3000:]
            return read_endpoint(DataLayout(data).endpoint_file("miner")) is not None

        wait_for(listening, timeout=90, what="the miner's axon")
        card = tmp_path / "card.png"
        query = subprocess.run([str(bin_dir / "content-miner-query"), "--data-dir", str(data), "--wait", "150",
                                "--out", str(card)], capture_output=True, text=True, timeout=240, cwd=elsewhere,
                               env=env)
        assert query.returncode == 0, (query.stdout, query.stderr, log.read_text()[-3000:])
        assert "✅ ContentPlan: HTTP 200 | state: done" in query.stdout
        assert card.read_bytes().startswith(b"\x89PNG")
        # The dashboard's page and script come from the wheel too.
        dashboard = read_endpoint(DataLayout(data).endpoint_file("dashboard"))
        assert dashboard is not None
        for path in ("", "assets/main.js", "api/accounts"):
            answer = httpx.get(f"http://127.0.0.1:{dashboard['dashboard_port']}/{path}", timeout=10)
            assert answer.status_code == 200, (path, answer.text[:200])
        # The modules ran from the wheel (`python -m`), not from this checkout.
        modules = [" ".join(child.cmdline()) for child in psutil.Process(miner.pid).children()]
        assert any(" -m content_miner.pipeline " in line for line in modules), modules
        assert any(" -m content_miner.images " in line for line in modules), modules
        assert all(line.startswith(str(bin_dir / "python")) and str(REPO) not in line for line in modules), modules
    finally:
        miner.send_signal(signal.SIGTERM)
        code = miner.wait(timeout=30)
    assert code == 0, log.read_text()[-3000:]
    text = log.read_text()
    assert "Traceback" not in text and "Miner stopped" in text
    assert not any(os.scandir(elsewhere)), "nothing is written in the working directory"
