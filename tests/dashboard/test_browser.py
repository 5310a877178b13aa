"""The dashboard in a real browser (headless Chromium driven by Selenium) on a real `--mock` miner:
an account goes through its stages on the page without a reload, its timeline, a failure and its
reason, a killed module restarting, and the token: refused without it, open with it.

One miner serves the whole file (tests run in order). Screenshots are saved under pytest's base
temp directory (`dashboard-artifacts/`) and listed at the end of the run ("artifacts").
"""

from __future__ import annotations

import json
import os
import shutil
import signal
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from content_miner.common.endpoints import read_endpoint
from content_miner.common.layout import DataLayout
from content_miner.neuron.miner_client import MinerClient, axon_info, mock_keys
from content_miner.neuron.sample_account import sample_source
from content_miner.pipeline.inbox import AccountInbox
from support.miner import MinerRun, run
from support.waiting import wait_for

TOKEN = "browser-test-token-0123456789abcdef"
CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
CHROMEDRIVER = shutil.which("chromedriver") or "/usr/bin/chromedriver"
SAMPLE = "sample_creator"
GHOST = "ghost_account"


def _missing() -> str | None:
    try:
        import selenium  # noqa: F401
    except ImportError:
        return "selenium is not installed (pip install -e '.[dev]')"
    for name, path in (("chromium", CHROMIUM), ("chromedriver", CHROMEDRIVER)):
        if not Path(path).is_file():
            return f"{name} is not installed (Debian: apt-get install chromium chromium-driver)"
    return None


pytestmark = pytest.mark.skipif(_missing() is not None, reason=str(_missing()))


@pytest.fixture(scope="module")
def miner(tmp_path_factory: pytest.TempPathFactory) -> Iterator[MinerRun]:
    root = tmp_path_factory.mktemp("dashboard-e2e")
    (root / "data").mkdir()
    run = MinerRun(root / "data", root / "miner.log", "--no_sample", "--dashboard.port", "0",
                   "--supervisor.backoff_start", "0.5", env={"MINER_DASHBOARD_TOKEN": TOKEN})
    run.start()
    try:
        run.wait_line(r"📊 Dashboard \(read-only\) on http://127\.0\.0\.1:\d+/ \(access token required\)", timeout=90)
        run.wait_line(r"✅ Stage 0 Complete - Initialization - Watchdog mode initialized", timeout=90)
        yield run
    finally:
        run.kill_all()


def url_port(miner: MinerRun) -> int:
    info = read_endpoint(DataLayout(miner.data_dir).endpoint_file("dashboard"))
    assert info is not None and info["dashboard_host"] == "127.0.0.1"
    return int(info["dashboard_port"])


@pytest.fixture(scope="module")
def url(miner: MinerRun) -> str:
    return f"http://127.0.0.1:{url_port(miner)}/"


@pytest.fixture(scope="module")
def artifacts(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.getbasetemp() / "dashboard-artifacts"
    folder.mkdir(exist_ok=True)
    return folder


@pytest.fixture(scope="module")
def browser(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    home = tmp_path_factory.mktemp("chromium-home")  # Chromium's own files: not in the real HOME
    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for argument in ("--headless=new", "--no-sandbox", "--disable-dev-shm-usage", "--disable-gpu",
                     "--window-size=1400,1000", f"--user-data-dir={home / 'profile'}", "--no-first-run",
                     "--disable-background-networking", "--disable-component-update", "--disable-sync",
                     "--disable-extensions", "--no-default-browser-check", "--hide-scrollbars"):
        options.add_argument(argument)
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    service = Service(CHROMEDRIVER, env={**os.environ, "HOME": str(home)}, log_output=str(home / "chromedriver.log"))
    driver = webdriver.Chrome(service=service, options=options)
    driver.set_page_load_timeout(60)
    try:
        yield driver
    finally:
        driver.quit()


def js(driver: Any, script: str, *args: Any) -> Any:
    return driver.execute_script(script, *args)


def shot(driver: Any, artifacts: Path, name: str, record_property: Any) -> Path:
    path = artifacts / f"{name}.png"
    driver.save_screenshot(str(path))
    record_property("artifact", str(path))
    print(f"screenshot: {path}")
    return path


def go(driver: Any, route: str) -> None:
    """A route inside the page (a hash change: no reload)."""
    js(driver, "location.hash = arguments[0]", route)


def click(driver: Any, selector: str) -> None:
    """Click a link the way a person does; found and clicked in one step (rows are redrawn every second)."""
    js(driver, "document.querySelector(arguments[0]).click()", selector)


def wait_js(driver: Any, script: str, *args: Any, timeout: float = 30, what: str = "the page") -> Any:
    return wait_for(lambda: js(driver, script, *args), timeout=timeout, what=what, interval=0.1)


def drop_account(miner: MinerRun, name: str, username: str, source: Path) -> None:
    """An account file in the inbox, as an operator drops one."""
    AccountInbox(DataLayout(miner.data_dir)).drop(name, {"platform": "twitter", "username": username,
                                                          "source": str(source)})


def test_without_the_token_nothing_is_shown(url: str, browser: Any, artifacts: Path, record_property: Any) -> None:
    for path in ("", "api/overview", "api/accounts", "api/stream"):
        answer = httpx.get(url + path, timeout=10)
        assert answer.status_code == 401, path
    assert httpx.get(url + "api/overview", headers={"authorization": f"Bearer {TOKEN}"}, timeout=10).status_code == 200
    browser.get(url)
    assert "needs its access token" in browser.find_element("tag name", "body").text
    shot(browser, artifacts, "01-refused-without-token", record_property)


def test_with_the_token_the_dashboard_opens_and_keeps_the_token_out_of_the_address(
        url: str, browser: Any, artifacts: Path, record_property: Any) -> None:
    browser.get(f"{url}?token={TOKEN}")
    wait_js(browser, "return document.getElementById('live').dataset.state === 'live'", what="the live stream")
    assert TOKEN not in browser.current_url
    wait_js(browser, "return document.querySelectorAll('tr[data-module]').length === 2", what="both modules")
    assert js(browser, "return document.querySelector('[data-testid=status-line]').textContent").startswith(
        "📈 Miner Status: Mode: watchdog")
    shot(browser, artifacts, "02-overview", record_property)
    errors = [entry for entry in browser.get_log("browser") if entry["level"] == "SEVERE"
              and "401" not in entry["message"]]  # the refused visit before this one
    assert errors == [], errors  # no script error, no CSP violation


def test_an_account_goes_through_its_stages_live_without_a_reload(
        miner: MinerRun, browser: Any, artifacts: Path, record_property: Any) -> None:
    load_id = js(browser, "return window.__dashboardLoadId")
    go(browser, "#/accounts")
    wait_js(browser, "return document.querySelector('table.accounts thead th') !== null", what="the accounts table")
    # Record every state the sample's row shows (checked every 50 ms, in the page itself).
    js(browser, """
        window.__seen = [];
        window.__recorder = setInterval(() => {
          const row = document.querySelector(`tr[data-account="${arguments[0]}"]`);
          const now = row ? `${row.dataset.stage}:${row.dataset.state}` : null;
          if (now && window.__seen[window.__seen.length - 1] !== now) window.__seen.push(now);
        }, 50);""", SAMPLE)
    drop_account(miner, "sample.json", SAMPLE, sample_source(DataLayout(miner.data_dir)))
    wait_js(browser, "return window.__seen.some((s) => s.endsWith(':running'))", timeout=120,
            what="the sample account running on the page")
    shot(browser, artifacts, "03-accounts-running", record_property)
    wait_js(browser, "return window.__seen[window.__seen.length - 1] === '7:completed'", timeout=180,
            what="the sample account complete on the page")
    seen = js(browser, "clearInterval(window.__recorder); return window.__seen")
    stages = [int(state.split(":")[0]) for state in seen]
    assert stages == sorted(stages), seen  # forward only
    assert len(set(stages)) >= 3 and any(state.endswith(":running") for state in seen), seen
    assert js(browser, "return window.__dashboardLoadId") == load_id  # the same page all along: no reload
    row = browser.find_element("css selector", f'tr[data-account="{SAMPLE}"]')
    assert "never" not in row.text  # its last plan time
    shot(browser, artifacts, "04-accounts-complete", record_property)
    print(f"states the sample's row showed: {seen}")


def test_its_timeline_shows_a_bar_per_stage_and_its_plan(browser: Any, artifacts: Path, record_property: Any) -> None:
    click(browser, f'tr[data-account="{SAMPLE}"] a.account')
    wanted = [f"module1/{n}/completed" for n in range(1, 8)] + ["module2/1/completed"]  # Module 2's images last
    bars = wait_js(browser, """const bars = [...document.querySelectorAll('#runs .run:first-child rect.gantt-bar')].map(
                                 (r) => `${r.dataset.source}/${r.dataset.stage}/${r.dataset.status}`);
                               return JSON.stringify(bars) === arguments[0] && bars""",
                   json.dumps(wanted, separators=(",", ":")), timeout=60, what="a Gantt bar per stage, all completed")
    assert bars == wanted
    wait_js(browser, "return document.querySelectorAll('#files .thumb img').length >= 3", what="charts and images")
    shot(browser, artifacts, "05-account-timeline", record_property)
    click(browser, "a.plan-link")
    wait_js(browser, "return document.querySelector('#plan h1') !== null", what="the rendered plan")
    assert browser.find_element("css selector", "#plan h1").text == f"Content plan: {SAMPLE} on twitter"
    assert js(browser, "return document.querySelectorAll('#plan img').length") >= 1  # its charts, from the miner
    shot(browser, artifacts, "06-plan", record_property)


def test_a_failure_at_stage_1_shows_live_with_its_reason(
        miner: MinerRun, browser: Any, artifacts: Path, record_property: Any) -> None:
    go(browser, "#/events")
    wait_js(browser, "return document.querySelectorAll('table.events tbody tr[data-seq]').length > 0",
            what="the events list")
    drop_account(miner, "ghost.json", GHOST, miner.data_dir / "no-such-export.js")
    wait_js(browser, "return document.querySelector(`tr[data-account='${arguments[0]}'][data-status='failed']`)",
            GHOST, timeout=120, what="the failure in the live events")
    shot(browser, artifacts, "07-events-failure", record_property)
    click(browser, f"tr[data-account='{GHOST}'][data-status='failed'] a.account")
    reason = wait_js(browser, "const cell = document.querySelector('#failures tr[data-stage=\"1\"] .failure-reason');"
                              "return cell && cell.textContent", what="the failure and its reason")
    assert "source file not found" in reason
    assert js(browser, "return document.querySelector('#runs .run').dataset.runStatus") == "failed"
    shot(browser, artifacts, "08-account-failure", record_property)


def test_the_overview_counts_the_axons_requests_and_refusals(
        miner: MinerRun, browser: Any, artifacts: Path, record_property: Any) -> None:
    go(browser, "#/overview")
    rate = "return parseFloat(document.querySelector(`[data-testid=${arguments[0]}] strong`).textContent) || 0"
    wait_js(browser, "return document.querySelector('[data-testid=requests-rate]') !== null", what="the overview")
    assert js(browser, rate, "refusals-rate") == 0
    keys = mock_keys(miner.data_dir)
    client = MinerClient(keys.validator, axon_info(keys.miner_hotkey, keys.miner_coldkey, "127.0.0.1",
                                                   miner.axon_port))
    for _ in range(4):
        answer = run(client.status(events_limit=5))
        assert answer.dendrite.status_code == 200, answer.dendrite.status_message
    for _ in range(3):  # no hotkey: refused by the axon's access gate
        assert httpx.post(f"http://127.0.0.1:{miner.axon_port}/StageStatusSynapse", json={},
                          timeout=10).status_code == 403
    for name in ("requests-rate", "refusals-rate"):
        wait_js(browser, rate.replace("|| 0", "> 0"), name, timeout=30, what=f"{name} on the overview")
    def counted() -> bool:  # the page's figures come from samples a second apart: all of them in time
        axon = httpx.get(f"http://127.0.0.1:{url_port(miner)}/api/overview", timeout=10,
                         headers={"authorization": f"Bearer {TOKEN}"}).json()["axon"]
        return axon["requests_total"] >= 7 and axon["refusals_total"] >= 3

    wait_for(counted, timeout=30, what="every request and refusal counted")
    shot(browser, artifacts, "09-overview-traffic", record_property)


def test_a_killed_module_is_seen_restarting(miner: MinerRun, browser: Any, artifacts: Path,
                                            record_property: Any) -> None:
    load_id = js(browser, "return window.__dashboardLoadId")
    go(browser, "#/overview")
    row = "tr[data-module='Module 2']"
    old_pid = int(wait_js(browser, f"const r = document.querySelector(\"{row}\"); return r && r.dataset.pid",
                          what="Module 2's pid"))
    assert js(browser, f"return document.querySelector(\"{row}\").dataset.restarts") == "0"
    js(browser, f"""window.__states = [];
        window.__watch = setInterval(() => {{
          const r = document.querySelector("{row}");
          const last = window.__states[window.__states.length - 1];
          if (r && last !== r.dataset.state) window.__states.push(r.dataset.state);
        }}, 50);""")
    os.kill(old_pid, signal.SIGKILL)
    wait_js(browser, f"""const r = document.querySelector("{row}");
        return r && r.dataset.restarts === '1' && r.dataset.state === 'Running' && r.dataset.pid !== '{old_pid}'""",
            timeout=60, what="Module 2 restarted on the overview")
    states = js(browser, "clearInterval(window.__watch); return window.__states")
    assert "Restarting" in states or "Starting" in states, states
    assert js(browser, "return window.__dashboardLoadId") == load_id
    shot(browser, artifacts, "10-overview-restarted", record_property)
    print(f"Module 2's states on the page: {states}")


def test_stage_analytics_show_the_runs_and_the_failure_reason(browser: Any, artifacts: Path,
                                                              record_property: Any) -> None:
    go(browser, "#/analytics")
    wait_js(browser, "return document.querySelector('tr[data-stage=\"module1/3\"]') !== null", what="the stage table")
    reasons = js(browser, "return [...document.querySelectorAll('tr[data-reason]')].map((r) => r.dataset.reason)")
    assert any("source file not found" in reason for reason in reasons), reasons
    assert js(browser, "return document.querySelectorAll('.small-multiples svg.lines').length") >= 6
    shot(browser, artifacts, "11-stage-analytics", record_property)
    overview = httpx.get(browser.current_url.split("#")[0] + "api/overview", timeout=10,
                         headers={"authorization": f"Bearer {TOKEN}"}).json()
    assert overview["viewers"] >= 1
