"""Module 1's memory over many accounts: is it bounded, or does it grow with every account?

Starts Module 1 in watchdog mode (a real process, as the miner runs it) on a temporary data
directory, drops `--accounts` generated accounts into its inbox a few at a time, and samples the
process's resident memory (RSS, its children included) after each finished account. Prints the
RSS at a few points and whether it stays within +/- 10 % of its value after `--settle` accounts.

    python scripts/bench_memory.py [--accounts 500] [--posts 40] [--settle 50] [--chroma-server] [--json]

With the embedded index (the default) the vector index is Module 1's: one collection per account,
closed after each account, so it must not grow either. `--chroma-server` runs `chroma run` on a
loopback port and gives Module 1 `CHROMA_URL`, as an operator sharing one index between processes
would: then every account is in one collection held by the server, whose memory is reported apart.

Loopback only, nothing downloaded; bounded by `--timeout` seconds overall.
"""

from __future__ import annotations

import argparse
import json
import os
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx
import psutil

from content_miner.common import heap
from content_miner.common.layout import DataLayout
from content_miner.pipeline.inbox import AccountInbox
from content_miner.pipeline.sample_account import generate_sample_posts, to_jsonl
from content_miner.tracker import MinerStageTracker

AHEAD = 4  # accounts waiting in the inbox at a time: Module 1 never waits, the inbox stays small


def tree_rss(pid: int) -> int:
    process = psutil.Process(pid)
    total = process.memory_info().rss
    for child in process.children(recursive=True):
        try:
            total += child.memory_info().rss
        except psutil.Error:
            continue
    return total


def start_chroma(root: Path) -> tuple[subprocess.Popen[bytes], str]:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    (root / "chroma").mkdir(exist_ok=True)
    with (root / "chroma.log").open("ab") as log:
        server = subprocess.Popen([str(Path(sys.executable).parent / "chroma"), "run", "--path", str(root / "chroma"),
                                   "--host", "127.0.0.1", "--port", str(port)], stdout=log, stderr=log,
                                  cwd=root, env={**os.environ, "ANONYMIZED_TELEMETRY": "False"})
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline and server.poll() is None:
        try:
            if httpx.get(f"{url}/api/v2/heartbeat", timeout=1).status_code == 200:
                return server, url
        except httpx.HTTPError:
            pass
        time.sleep(0.2)
    server.kill()
    raise SystemExit(f"the chroma server did not start; see {root / 'chroma.log'}")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--accounts", type=int, default=500)
    parser.add_argument("--posts", type=int, default=40, help="posts per generated account")
    parser.add_argument("--settle", type=int, default=50, help="accounts before the RSS must stay flat")
    parser.add_argument("--timeout", type=float, default=3600.0)
    parser.add_argument("--keep", type=Path, help="data directory to keep (default: a temporary one)")
    parser.add_argument("--chroma-server", action="store_true", help="the index in a Chroma server (CHROMA_URL)")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()

    root = Path(args.keep or tempfile.mkdtemp(prefix="bench-memory-"))
    data = root / "data"
    data.mkdir(parents=True, exist_ok=True)
    sources = root / "sources"
    sources.mkdir(exist_ok=True)
    layout = DataLayout(data)
    inbox = AccountInbox(layout)
    # As the miner's supervisor starts it (neuron/module_process.py): fewer glibc heaps, unless set.
    env = {heap.ARENA_ENV: heap.ARENAS, **os.environ, "PYTHONDONTWRITEBYTECODE": "1"}
    chroma = None
    if args.chroma_server:
        chroma, env["CHROMA_URL"] = start_chroma(root)
    with (root / "module1.log").open("ab") as log:
        module1 = psutil.Popen([sys.executable, "-m", "content_miner.pipeline", "--data-dir", str(data),
                                "--poll-seconds", "0.2"], stdout=log, stderr=log, stdin=None, env=env)
    tracker = MinerStageTracker(layout.status_file)
    cursor = tracker.end_cursor()
    submitted = finished = failed = 0
    samples: list[tuple[int, int]] = []
    began = time.monotonic()
    try:
        while finished + failed < args.accounts:
            if time.monotonic() - began > args.timeout:
                print(f"timed out after {finished + failed} accounts", file=sys.stderr)
                break
            if module1.poll() is not None:
                print(f"Module 1 exited with code {module1.returncode}; see {root / 'module1.log'}", file=sys.stderr)
                return 1
            while submitted < args.accounts and submitted - finished - failed < AHEAD:
                name = f"bench{submitted:04d}"
                source = sources / f"{name}.jsonl"
                source.write_text(to_jsonl(generate_sample_posts(seed=1000 + submitted, n_posts=args.posts,
                                                                 days=60)))
                inbox.drop(f"{name}.json", {"platform": "twitter", "username": name, "source": str(source)})
                submitted += 1
            batch = tracker.read_new(cursor)
            cursor = batch.cursor
            for event in batch.events:
                if event["source"] != "module1" or not event["username"]:
                    continue
                if event["status"] == "completed" and event["stage_number"] == 7:
                    finished += 1
                    samples.append((finished + failed, tree_rss(module1.pid)))
                elif event["status"] == "failed":
                    failed += 1
            if not batch.events:
                time.sleep(0.2)
    finally:
        server_mb = psutil.Process(chroma.pid).memory_info().rss / 2**20 if chroma and chroma.poll() is None else None
        if chroma is not None:
            chroma.terminate()
        module1.terminate()
        try:
            module1.wait(timeout=30)
        except psutil.TimeoutExpired:
            module1.kill()
    if not samples:
        print("no account finished", file=sys.stderr)
        return 1
    mb = {count: rss / 2**20 for count, rss in samples}
    settled = [value for count, value in mb.items() if count >= args.settle]
    base = next((value for count, value in mb.items() if count >= args.settle), None)
    points = [n for n in (1, 10, 25, 50, 100, 200, 300, 400, 500, args.accounts) if n in mb]
    where = f"Chroma server ({server_mb:.0f} MB at the end)" if server_mb is not None else "embedded Chroma"
    print(f"Module 1 over {finished} accounts ({failed} failed), {args.posts} posts each, index: {where}, "
          f"{time.monotonic() - began:.0f} s")
    print("accounts  RSS MB")
    for n in sorted(set(points)):
        print(f"{n:8d}  {mb[n]:6.0f}")
    result = {"accounts": finished, "failed": failed, "rss_mb": {str(n): round(mb[n], 1) for n in sorted(set(points))}}
    if base is not None and settled:
        low, high = min(settled), max(settled)
        flat = low >= base * 0.9 and high <= base * 1.1
        print(f"after {args.settle} accounts: {base:.0f} MB; since then min {low:.0f}, max {high:.0f} MB "
              f"({(high / base - 1) * 100:+.1f} % at most): {'flat' if flat else 'NOT flat'} (target +/- 10 %)")
        result.update(base_mb=round(base, 1), min_mb=round(low, 1), max_mb=round(high, 1), flat=flat)
    if args.json:
        print(json.dumps(result))
    return 0


if __name__ == "__main__":
    sys.exit(main())
