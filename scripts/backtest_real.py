#!/usr/bin/env python3
"""Back-test the plan on real accounts' post histories and print one summary table.

    python scripts/backtest_real.py [--data-dir D] [--holdout 0.2] [--embedder NAME] NAME=FILE [NAME=FILE ...]

Each FILE is a raw public dump (a twint CSV, a scraped CSV, an API JSON array, an X archive
tweets.js, ...), read where it is: nothing is copied into the project. Every account goes through
the real entry point, `Miners/main.py backtest`, against one data directory (default: a temporary
one; give `--data-dir` to keep the vectors for the next run), and the summary is made from the
`backtest.json` files it writes. The targets: content ranking at least as good as the
nearest-neighbour baseline; slot claims only when they beat random slots on future posts; the 50 %
interval holding 40-60 % of future posts.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

MAIN = Path(__file__).resolve().parents[1] / "Miners" / "main.py"


def _pct(x: float | None) -> str:
    return "-" if x is None else f"{x * 100:.0f}%"


def _num(x: float | None) -> str:
    return "-" if x is None else f"{x:.2f}"


def summary_row(name: str, r: dict) -> str:
    c = r["content_ranking"]
    s = r["slots"]
    slot = "no claim"
    if s["claimed_slots"]:
        claimed = s["claimed_slots"]
        slot = (f"claimed {_num(claimed['auc']['value'])} vs random {_num(claimed['random_low'])}-"
                f"{_num(claimed['random_high'])}")
    would = s["would_be_top"] or {}
    would_text = "-" if not would else (f"{_num(would['auc']['value'])} ({would['future_posts_inside']}) vs "
                                        f"{_num(would['random_low'])}-{_num(would['random_high'])}")
    raw = s["best_raw_mean"] or {}
    raw_text = "-" if not raw else f"{_num(raw['auc']['value'])} ({raw['future_posts_inside']})"
    reply = next((f for f in r["formats"] if f["flag"] == "is_reply"), None)
    reply_auc = "-" if not reply or reply["future_auc"] is None else f"{1 - reply['future_auc']:.2f}"
    claims = [f for f in r["formats"] if f["claimed"]]
    held = sum(bool(f["sign_held"]) for f in claims)
    i = r["intervals"]
    rec = r["recency"]
    return (f"| {name} | {r['posts']} | {_num(c['model']['value'])} | {_num(c['nearest_neighbours']['value'])} | "
            f"{_num(c['topics']['value'])} (k={r['topics']['k']}) | {slot} | {would_text} | {raw_text} | "
            f"{reply_auc} | {held}/{len(claims)} | {_pct(i['refreshed_weekly']['value'])} "
            f"({_pct(i['frozen_at_split']['value'])} frozen) | {rec['status']}, {rec['trend']} | "
            f"{len(r['topics']['label_problems'])} |")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("accounts", nargs="+", metavar="NAME=FILE")
    parser.add_argument("--data-dir", type=Path)
    parser.add_argument("--holdout", type=float, default=0.2)
    parser.add_argument("--embedder", help="an embedder name (the default: the pipeline's)")
    parser.add_argument("--tables", action="store_true", help="print each account's full table too")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="backtest-real-") as tmp:
        data = args.data_dir or Path(tmp)
        rows = []
        for spec in args.accounts:
            name, _, path = spec.partition("=")
            if not path:
                parser.error(f"expected NAME=FILE, got {spec!r}")
            command = [sys.executable, str(MAIN), "backtest", "--username", name, "--source", path,
                       "--holdout", str(args.holdout), "--data-dir", str(data)]
            if args.embedder:
                command += ["--embedder", args.embedder]
            began = time.perf_counter()
            done = subprocess.run(command, capture_output=True, text=True)
            seconds = time.perf_counter() - began
            if done.returncode != 0:
                print(f"{name}: failed: {done.stderr.strip()}", file=sys.stderr)
                continue
            if args.tables:
                print(done.stdout)
            written = Path(done.stdout.strip().splitlines()[-1].removeprefix("Back-test written to "))
            rows.append(summary_row(name, json.loads(written.read_text())))
            print(f"{name}: {seconds:.0f} s", file=sys.stderr)
    print("| account | posts | model Spearman | NN-20 | topic ranking | slots (future AUC) | unclaimed top-5 "
          "(posts) vs random | best raw-mean hours (posts) | original vs reply AUC | format claims held | "
          "inside 50 % interval, weekly | recency at split | label debris |")
    print("|" + " --- |" * 13)
    print("\n".join(rows))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
