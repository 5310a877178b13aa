"""The miner end to end, all real: `neurons/miner.py --mock`, Module 1 and Module 2 as its children,
the axon on loopback, a dendrite signing with the mock validator's wallet, and a local fake X API
that Module 1 scrapes. One miner serves every test in this file; the last one stops it."""

from __future__ import annotations

import base64
import io
import json
import re
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from http.server import ThreadingHTTPServer
from pathlib import Path

import bittensor as bt
import httpx
import psutil
import pytest
from PIL import Image

from content_miner.neuron.miner_client import MinerClient, axon_info, mock_keys
from content_miner.pipeline.sample_account import generate_sample_posts
from content_miner_protocol import ContentPlanSynapse
from support.miner import REPO, MinerRun, run
from support.ports import refused_port
from support.waiting import wait_for
from support.x_api import TOKEN, FakeXApi, _handler_for, api_post

USERNAME = "Creator_One"
POSTS = 80
QUERY_MINER = [sys.executable, "-m", "content_miner.neuron.query_command"]


@pytest.fixture(scope="module")
def fake_x() -> Iterator[FakeXApi]:
    api = FakeXApi()
    posts = generate_sample_posts(seed=11, n_posts=POSTS, days=40)
    api.add_account(USERNAME, "424242", [
        api_post(p.id, p.text, p.created_at.strftime("%Y-%m-%dT%H:%M:%S.000Z"), likes=p.likes, reposts=p.reposts,
                 replies=p.replies, impressions=p.views or 0)
        for p in reversed(posts)
    ])
    server = ThreadingHTTPServer(("127.0.0.1", 0), _handler_for(api))
    api.base_url = f"http://127.0.0.1:{server.server_address[1]}/2"
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    yield api
    server.shutdown()
    server.server_close()


@pytest.fixture(scope="module")
def miner(tmp_path_factory: pytest.TempPathFactory, fake_x: FakeXApi) -> Iterator[MinerRun]:
    root = tmp_path_factory.mktemp("e2e")
    (root / "data").mkdir()
    run_ = MinerRun(root / "data", root / "miner.log", "--no_sample", "--status.interval", "2",
                    env={"X_API_BASE_URL": fake_x.base_url, "X_BEARER_TOKEN": TOKEN})
    run_.start()
    try:
        run_.wait_line(r"Stage monitoring activated", timeout=60)
        run_.wait_line(r"✅ \[Module 2\] Stage 0 Complete - Initialization - Image generator and query handler ready",
                       timeout=60)
        run_.wait_line(r"✅ Stage 0 Complete - Initialization - Watchdog mode initialized", timeout=60)
        yield run_
    finally:
        run_.kill_all()


@pytest.fixture(scope="module")
def client(miner: MinerRun) -> MinerClient:
    keys = mock_keys(miner.data_dir)
    return MinerClient(keys.validator, axon_info(keys.miner_hotkey, keys.miner_coldkey, "127.0.0.1", miner.axon_port))


def _in_order(lines: list[str], patterns: list[str]) -> None:
    position = 0
    for pattern in patterns:
        regex = re.compile(pattern)
        for index in range(position, len(lines)):
            if regex.search(lines[index]):
                position = index + 1
                break
        else:
            raise AssertionError(f"no line matching {pattern!r} after line {position}:\n" + "\n".join(lines[-80:]))


def test_start_up_lines_come_in_order(miner: MinerRun) -> None:
    _in_order(miner.lines(), [
        r"INFO.*🚀 Content Recommendation Miner started successfully",
        r"INFO.*🎯 Stage tracking system initialized",
        r"INFO.*📋 Starting Module 1: Content recommendation system",
        r"INFO.*📋 Starting Module 2: Image generator and query handler",
        r"INFO.*Stage monitoring activated",
    ])
    assert "Traceback" not in miner.log()
    assert "\x1b[" not in miner.log_path.read_text(), "plain lines when the output is not a terminal"


def test_submitted_account_goes_through_every_stage_to_a_plan_and_an_image(
    miner: MinerRun, client: MinerClient
) -> None:
    first = run(client.plan(USERNAME))
    assert first.dendrite.status_code == 200, first.dendrite.status_message
    assert first.state == "queued", first.message

    def done() -> ContentPlanSynapse | None:
        answer = run(client.plan(USERNAME))
        assert answer.state in ("queued", "in_progress", "done"), (answer.state, answer.message)
        return answer if answer.state == "done" else None

    answer = wait_for(done, timeout=120, what="the plan to be done", interval=1.0)
    assert answer.plan is not None and answer.plan["username"].lower() == USERNAME.lower()
    assert len(answer.plan["recommendations"]) == len(answer.images or []) > 0

    who = f"for {USERNAME.lower()}"  # the account key: one spelling everywhere
    steps = [r"⚙️  Stage 0 - Initialization: Starting watchdog mode"]
    for number, name in [(1, "Data Scraping"), (2, "Data Retrieval"), (3, "Vector Database"),
                         (4, "Time Series Analysis"), (5, "Content Generation"), (6, "Exportation")]:
        steps += [rf"INFO.*⚙️  Stage {number} - {name} {who}: ", rf"INFO.*✅ Stage {number} Complete - {name} {who} - "]
    steps.append(rf"INFO.*✅ Stage 7 Complete - Complete {who} - Pipeline completed - \d+ recommendations generated")
    # The job is done once Module 1 wrote Stage 7; the miner's reporter logs it at its next poll.
    miner.wait_line(steps[-1], timeout=30)
    _in_order(miner.lines(), steps)
    # Module 2's own stages for the new plan (it renders the images after Module 1 exported it).
    miner.wait_line(rf"✅ \[Module 2\] Stage 1 Complete - Image Rendering for {USERNAME.lower()} - Rendered \d+ images",
                    timeout=60)
    _in_order(miner.lines(), [r"📈 Miner Status: Mode: watchdog \| Module 1: Running \| Module 2: Running \| Stage: "])
    assert fake_x_was_used(miner)

    rec_id = answer.plan["recommendations"][0]["id"]
    image = run(client.image(USERNAME, rec_id))
    assert image.dendrite.status_code == 200 and image.state == "ready", image.message
    picture = Image.open(io.BytesIO(base64.b64decode(image.image_png_b64)))
    assert picture.format == "PNG" and picture.size == (1200, 675)

    missing = run(client.image(USERNAME, "rec-99"))
    assert missing.state == "not_found"


def fake_x_was_used(miner: MinerRun) -> bool:
    return (miner.data_dir / "exports" / "twitter" / USERNAME.lower() / "content_plan.json").is_file()


def test_status_synapse_reports_modules_accounts_and_events(miner: MinerRun, client: MinerClient) -> None:
    status = run(client.status(username=USERNAME.lower(), events_limit=5))
    assert status.dendrite.status_code == 200
    assert status.mode == "watchdog"
    assert status.modules == {"Module 1": "Running", "Module 2": "Running"}
    module1 = [entry for entry in status.current or [] if entry.source == "module1"]
    assert module1 and module1[0].stage_number == 7 and module1[0].status == "completed"
    assert module1[0].state == "completed" and module1[0].eta_s is None
    assert 0 < len(status.events or []) <= 5
    assert all(event.username.lower() == USERNAME.lower() for event in status.events or [])


def _query_miner(miner: MinerRun, *args: str) -> subprocess.CompletedProcess[str]:
    """The self-test command as an operator runs it, with the miner's (empty) HOME."""
    # PYTHONDONTWRITEBYTECODE: Python compiles a package's `__init__` before its first line could opt
    # out, and this checkout is an editable install (a wheel's files are compiled by pip at install).
    env = {"PATH": "/usr/bin:/bin", "HOME": str(miner.home), "PYTHONUNBUFFERED": "1", "PYTHONDONTWRITEBYTECODE": "1"}
    return subprocess.run([*QUERY_MINER, "--data-dir", str(miner.data_dir), *args],
                          capture_output=True, text=True, timeout=120, env=env, cwd=miner.home, check=False)


def test_query_miner_script_prints_each_answer_and_exits_0(miner: MinerRun, tmp_path: Path) -> None:
    card = tmp_path / "card.png"
    done = _query_miner(miner, "--username", USERNAME, "--out", str(card))  # the port from the data dir
    assert done.returncode == 0 and done.stderr == "", (done.returncode, done.stdout, done.stderr)
    lines = done.stdout.splitlines()
    assert re.fullmatch(r"✅ StageStatus: HTTP 200 \| mode: watchdog \| modules: \{'Module 1': 'Running', "
                        r"'Module 2': 'Running'\} \| accounts: \d+", lines[0]), lines[0]
    assert re.search(rf"^     module1 +{USERNAME.lower()} +Stage 7 Complete - completed: Pipeline completed - \d+ "
                     "recommendations generated$", done.stdout, re.MULTILINE), done.stdout
    assert re.search(r"^     module1 +- +Stage 0 Initialization - idle: ", done.stdout, re.MULTILINE), done.stdout
    assert re.search(r"^✅ ContentPlan: HTTP 200 \| state: done \| message: \d+ recommendations$", done.stdout,
                     re.MULTILINE), done.stdout
    assert re.search(r"^     #1 rec-\w+: .+", done.stdout, re.MULTILINE), done.stdout
    image = re.search(r"^✅ RecommendationImage: HTTP 200 \| state: ready \| id: rec-\w+ \| png_bytes: (\d+)$",
                      done.stdout, re.MULTILINE)
    assert image, done.stdout
    assert lines[-1] == f"     saved {card}" and card.stat().st_size == int(image.group(1))

    with refused_port() as port:
        nobody = _query_miner(miner, "--port", str(port), "--username", USERNAME)
    assert nobody.returncode == 1, (nobody.stdout, nobody.stderr)
    first, *_ = nobody.stdout.splitlines()
    assert first.startswith("❌ StageStatus: HTTP ") and "Traceback" not in nobody.stdout + nobody.stderr, nobody.stdout


def test_unregistered_and_non_validator_keys_get_403(miner: MinerRun, tmp_path: Path) -> None:
    stranger = bt.Wallet(name="stranger", hotkey="default", path=str(tmp_path / "wallets"))
    stranger.create_if_non_existent(coldkey_use_password=False, hotkey_use_password=False, suppress=True)
    keys = mock_keys(miner.data_dir)
    target = axon_info(keys.miner_hotkey, keys.miner_coldkey, "127.0.0.1", miner.axon_port)
    # registered, no permit
    miner_wallet = bt.Wallet(name="miner", hotkey="default", path=str(miner.data_dir / "wallets"))
    for wallet, reason in [(stranger, "not registered"), (miner_wallet, "no validator permit")]:
        outsider = MinerClient(wallet, target)
        answer = run(outsider.status())
        run(outsider.close())
        assert answer.dendrite.status_code == 403, answer.dendrite.status_message
        assert reason in (answer.dendrite.status_message or "")
        assert answer.modules is None  # nothing was answered


def test_oversized_body_gets_413_and_the_miner_keeps_serving(miner: MinerRun, client: MinerClient) -> None:
    huge = run(client.plan("x" * 100_000))
    assert huge.dendrite.status_code == 413
    # A raw request needs a validator's hotkey to get that far: any other caller is refused (403) first.
    raw = httpx.post(f"http://127.0.0.1:{miner.axon_port}/ContentPlanSynapse", content=b"{" + b" " * 70_000 + b"}",
                     headers={"content-type": "application/json",
                              "bt_header_dendrite_hotkey": client.dendrite.keypair.ss58_address}, timeout=10)
    assert raw.status_code == 413
    assert run(client.status()).dendrite.status_code == 200


def test_hostile_account_requests_get_a_reason_and_never_a_local_source(miner: MinerRun, client: MinerClient) -> None:
    for name in ["../../etc/passwd", "a" * 16, "bad name", ""]:
        answer = run(client.plan(name))
        assert answer.dendrite.status_code == 200 and answer.state == "rejected", (name, answer.state)
        assert answer.message and "\n" not in answer.message
    # A `source` smuggled into the body is not a synapse field: it is dropped, never written.
    synapse = ContentPlanSynapse(username="someone_new")
    answer = run(client.dendrite.call(client.target, synapse, timeout=10, deserialize=False))
    assert answer.state == "queued"
    inbox = miner.data_dir / "AccountInfo"
    def written() -> list[Path]:
        return [p for p in inbox.rglob("job-*.json") if '"someone_new"' in p.read_text()]

    [account_file] = wait_for(written, timeout=10, what="the file")
    assert "source" not in json.loads(account_file.read_text())
    assert "Traceback" not in miner.log()


def test_sigterm_stops_everything_with_exit_0_within_10_seconds(miner: MinerRun, client: MinerClient) -> None:
    run(client.close())
    tree = miner.tree()
    assert len(tree) >= 2  # both modules
    started = time.monotonic()
    code = miner.stop(timeout=10)
    elapsed = time.monotonic() - started
    assert code == 0 and elapsed < 10, (code, elapsed)
    gone, alive = psutil.wait_procs(tree, timeout=1)
    assert not alive, [p.pid for p in alive]
    assert "Miner stopped" in miner.log()
    # The whole run (both modules, every stage, the self-test command) wrote nothing outside its data directory:
    # not into HOME (an empty directory of its own), not into the source tree. The test process may have
    # compiled files there before the run (pytest without PYTHONDONTWRITEBYTECODE): only newer ones count.
    assert [str(path.relative_to(miner.home)) for path in miner.home.rglob("*")] == []
    compiled = [path for root in (REPO / "Miners", REPO / "neurons", REPO / "scripts", REPO / "src")
                for path in root.rglob("*.pyc")
                if path.stat().st_mtime >= miner.started_at - 1.0]
    assert compiled == [], compiled
