#!/usr/bin/env python3
"""Benchmark the dashboard on a big history: page load times, event-to-screen latency, miner CPU.

    .venv/bin/python scripts/bench_dashboard.py [--accounts 1000] [--events 100000] [--seconds 30]

Builds a stage log of `--accounts` accounts and `--events` events over the last week (the tests'
`support/stage_history.py`), starts `content_miner.neuron --mock --no_sample --dashboard.port 0` on it,
and drives Debian's headless Chromium (Selenium) at it:

1. Each page opened cold (a new document each time, five times): first paint (the browser's
   first-contentful-paint) and full load (the page's data shown: the `view-ready:<page>` mark the
   page sets when its first data request is rendered), both from navigation start. Target <= 1 s.
2. Event-to-screen latency: stage events written into the log (by a tracker, as a module writes them)
   while the Events page is open; from the write call to the row in the page (a MutationObserver
   stamps it with the same wall clock). Target <= 1 s.
3. The miner process's CPU (its own, without the modules) over `--seconds` while a pipeline-like
   writer adds 2 events a second: with no dashboard open, with five (one tab per page), and with five
   but none on the analytics page (whose report is recomputed while events flow).

Server-side timings of the API calls behind the pages are printed too (median of 20 requests).
Needs selenium (`pip install -e '.[dev]'`) and chromium + chromium-driver.
"""

from __future__ import annotations

import os
import sys

sys.dont_write_bytecode = True
os.environ.setdefault("READ_ONLY", "1")
os.environ.setdefault("PYTHONDONTWRITEBYTECODE", "1")  # nor the miner it starts (`-m` compiles the package first)

import argparse  # noqa: E402
import shutil  # noqa: E402
import signal  # noqa: E402
import statistics  # noqa: E402
import tempfile  # noqa: E402
import threading  # noqa: E402
import time  # noqa: E402
from pathlib import Path  # noqa: E402
from typing import Any  # noqa: E402

import httpx  # noqa: E402
import psutil  # noqa: E402

from _running import announced, start  # noqa: E402

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))  # the synthetic history of the tests
from content_miner.tracker import MinerStageTracker  # noqa: E402
from support.stage_history import build_history  # noqa: E402

TARGET_S = 1.0
PAGES = {  # route -> what the page shows once loaded
    "overview": "#/overview",
    "accounts": "#/accounts",
    "account": "#/account/acct_0001",
    "analytics": "#/analytics",
    "events": "#/events",
}
API = ["overview", "accounts?limit=100", "accounts?sort=username&order=asc&offset=500&limit=100",
       "accounts?q=acct_09", "accounts/acct_0001", "events?limit=100", "events?status=failed&limit=100",
       "analytics?since=24h", "analytics?since=7d"]


def chromium(profile: Path) -> Any:
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = shutil.which("chromium") or "/usr/bin/chromium"
    for argument in ("--headless=new", "--no-sandbox", "--disable-dev-shm-usage", "--disable-gpu",
                     "--window-size=1400,1000", f"--user-data-dir={profile}", "--no-first-run",
                     "--disable-background-networking", "--disable-component-update", "--disable-extensions",
                     "--disable-background-timer-throttling", "--disable-renderer-backgrounding"):
        options.add_argument(argument)
    service = Service(shutil.which("chromedriver") or "/usr/bin/chromedriver",
                      env={**os.environ, "HOME": str(profile.parent)})
    return webdriver.Chrome(service=service, options=options)


def page_loads(driver: Any, url: str, rounds: int) -> dict[str, tuple[float, float, float]]:
    """Per page: median first paint, median and worst full load, seconds from navigation start."""
    found: dict[str, tuple[float, float, float]] = {}
    for name, route in PAGES.items():
        paints, loads = [], []
        for _ in range(rounds):
            driver.get("about:blank")
            driver.get(url + route)
            ready = None
            deadline = time.monotonic() + 30
            while ready is None and time.monotonic() < deadline:
                ready = driver.execute_script(
                    "const m = performance.getEntriesByName(arguments[0]); return m.length ? m[0].startTime : null",
                    f"view-ready:{name}")
                time.sleep(0.02)
            paint = driver.execute_script("const p = performance.getEntriesByName('first-contentful-paint'); "
                                          "return p.length ? p[0].startTime : null")
            if ready is None or paint is None:
                raise SystemExit(f"the {name} page did not load within 30 s")
            paints.append(paint / 1000)
            loads.append(ready / 1000)
        found[name] = (statistics.median(paints), statistics.median(loads), max(loads))
    return found


def event_latency(driver: Any, url: str, status_file: Path, count: int) -> list[float]:
    """Seconds from a stage call to its row on the Events page."""
    driver.get("about:blank")
    driver.get(url + "#/events")
    wait_until(driver, "return document.getElementById('live').dataset.state === 'live' && "
                       "document.querySelectorAll('tr[data-seq]').length > 0")
    driver.execute_script("""
        window.__shown = {};
        new MutationObserver(() => {
          for (const row of document.querySelectorAll('tr[data-seq]')) {
            const text = row.querySelector('td.message').textContent;
            if (text.startsWith('bench event ') && !(text in window.__shown)) window.__shown[text] = Date.now() / 1000;
          }
        }).observe(document.querySelector('table.events tbody'), {childList: true});""")
    tracker = MinerStageTracker(status_file, source="bench")
    written: dict[str, float] = {}
    for index in range(count):
        message = f"bench event {index}"
        written[message] = time.time()
        (tracker.stage_start if index % 2 == 0 else tracker.stage_complete)(3, message, username="acct_0002")
        time.sleep(0.5)
    tracker.close(2.0)
    deadline = time.monotonic() + 10
    shown: dict[str, float] = {}
    while time.monotonic() < deadline and len(shown) < count:
        shown = driver.execute_script("return window.__shown")
        time.sleep(0.1)
    return [shown[message] - at for message, at in written.items() if message in shown]


def wait_until(driver: Any, script: str, timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while not driver.execute_script(script):
        if time.monotonic() > deadline:
            raise SystemExit(f"timed out waiting for: {script}")
        time.sleep(0.05)


def cpu_share(process: psutil.Process, seconds: float, status_file: Path) -> float:
    """The miner's own CPU (percent of one core) over `seconds`, while a writer adds 2 events a second."""
    stop = threading.Event()

    def pipeline() -> None:
        tracker = MinerStageTracker(status_file, source="module1")
        index = 0
        while not stop.wait(0.5):
            number = 1 + (index // 2) % 6
            (tracker.stage_start if index % 2 == 0 else tracker.stage_complete)(
                number, f"cpu bench {index}", username=f"acct_{index // 12 % 1000:04d}")
            index += 1
        tracker.close(2.0)

    writer = threading.Thread(target=pipeline, daemon=True)
    writer.start()
    time.sleep(2.0)  # settle
    before, started = process.cpu_times(), time.monotonic()
    time.sleep(seconds)
    after, ended = process.cpu_times(), time.monotonic()
    stop.set()
    writer.join(5)
    return 100 * ((after.user - before.user) + (after.system - before.system)) / (ended - started)


def open_tabs(driver: Any, url: str, routes: list[str]) -> None:
    """One tab per route (the others closed)."""
    for handle in driver.window_handles[1:]:
        driver.switch_to.window(handle)
        driver.close()
    driver.switch_to.window(driver.window_handles[0])
    driver.get(url + routes[0])
    for route in routes[1:]:
        driver.switch_to.new_window("tab")
        driver.get(url + route)
    time.sleep(2.0)


def api_times(url: str) -> dict[str, float]:
    found = {}
    with httpx.Client(base_url=url, timeout=30) as client:
        for path in API:
            samples = []
            for _ in range(20):
                began = time.perf_counter()
                answer = client.get("api/" + path)
                samples.append(time.perf_counter() - began)
                answer.raise_for_status()
            found[path] = statistics.median(samples)
    return found


def mark(value: float, target: float = TARGET_S) -> str:
    return "ok" if value <= target else "OVER TARGET"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--accounts", type=int, default=1000)
    parser.add_argument("--events", type=int, default=100_000)
    parser.add_argument("--rounds", type=int, default=5, help="cold loads per page (default: 5)")
    parser.add_argument("--latency-events", type=int, default=20)
    parser.add_argument("--seconds", type=float, default=30.0, help="CPU measurement window (default: 30)")
    args = parser.parse_args()

    root = Path(tempfile.mkdtemp(prefix="bench-dashboard-"))
    data = root / "data"
    began = time.perf_counter()
    written = build_history(data / "miner_status.json", accounts=args.accounts, events=args.events, now=time.time())
    print(f"history: {written:,} events of {args.accounts:,} accounts over 7 days ({time.perf_counter() - began:.1f} s "
          f"to build), {(data / 'stage_log.sqlite3').stat().st_size / 2**20:.1f} MiB")
    env = {**os.environ, "HOME": str(root / "home")}
    miner = start(["-m", "content_miner.neuron", "--mock", "--no_sample", "--data-dir", str(data), "--axon.port", "0",
                   "--module2.port", "0", "--dashboard.port", "0"], root / "miner.log", env)
    driver = None
    try:
        port = announced(data, "dashboard", "dashboard_port", miner)
        url = f"http://127.0.0.1:{port}/"
        print(f"miner pid {miner.pid}, dashboard {url}, data {data}")
        time.sleep(3.0)  # the modules start

        for since in ("24h", "7d"):  # the first report of a window is computed; later ones come from the cache
            cost = httpx.get(url + f"api/analytics?since={since}", timeout=60).json()["cost_s"]
            print(f"analytics report, {since} window: computed in {cost * 1000:.0f} ms")
        api = api_times(url)
        print("\nAPI (server side and loopback, median of 20):")
        for path, seconds in api.items():
            print(f"  GET /api/{path:<55} {seconds * 1000:7.1f} ms")

        driver = chromium(root / "chromium" / "profile")
        loads = page_loads(driver, url, args.rounds)
        print(f"\npage loads, {args.accounts:,} accounts and {written:,} events (median of {args.rounds} cold loads; "
              f"target <= {TARGET_S:g} s):")
        print(f"  {'page':<10} {'first paint':>12} {'full load':>10} {'worst load':>11}")
        for name, (paint, load, worst) in loads.items():
            print(f"  {name:<10} {paint:>10.3f} s {load:>8.3f} s {worst:>9.3f} s  {mark(max(paint, worst))}")

        latencies = sorted(event_latency(driver, url, data / "miner_status.json", args.latency_events))
        if len(latencies) < args.latency_events:
            print(f"\nevent-to-screen: only {len(latencies)} of {args.latency_events} events were shown")
        if latencies:
            p95 = latencies[min(len(latencies) - 1, int(0.95 * len(latencies)))]
            print(f"\nevent-to-screen latency ({len(latencies)} events, Events page): p50 "
                  f"{statistics.median(latencies):.3f} s, p95 {p95:.3f} s, max {latencies[-1]:.3f} s  "
                  f"{mark(latencies[-1])}")

        process = psutil.Process(miner.pid)
        driver.get("about:blank")
        idle = cpu_share(process, args.seconds, data / "miner_status.json")
        print(f"\nminer CPU (its own process, % of one core, {args.seconds:g} s each, 2 events/s written): "
              f"no dashboard {idle:.1f} %")
        every = list(PAGES.values())
        for label, routes in (("5 dashboards, one per page", every),
                              ("5 dashboards, no analytics page", [*every[:3], every[4], every[0]])):
            open_tabs(driver, url, routes)
            viewers = httpx.get(url + "api/overview", timeout=10).json()["viewers"]
            busy = cpu_share(process, args.seconds, data / "miner_status.json")
            print(f"  {label} ({viewers} live pages): {busy:.1f} % (+{busy - idle:.1f})")
    finally:
        if driver is not None:
            driver.quit()
        miner.send_signal(signal.SIGTERM)
        try:
            miner.wait(timeout=15)
        except Exception:
            miner.kill()
        shutil.rmtree(root, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
