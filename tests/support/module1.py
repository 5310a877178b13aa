"""Helpers that run the real Module 1 (`Miners/main.py`) as a subprocess."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from content_miner.pipeline.sample_account import generate_sample_posts, to_jsonl
from content_miner.tracker import MinerStageTracker
from support.waiting import wait_for

__all__ = ["module1_env", "module1_events", "run_direct", "start_watchdog", "wait_for", "write_source"]

REPO = Path(__file__).resolve().parents[2]
MAIN = REPO / "Miners" / "main.py"


def module1_env(**extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("MINER_", "X_", "LLM_", "CHROMA_"))}
    env["PYTHONDONTWRITEBYTECODE"] = "1"
    env.update(extra)
    return env


def run_direct(data_dir: Path, *args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, str(MAIN), "--data-dir", str(data_dir), *args],
        capture_output=True, text=True, timeout=240, env=env or module1_env(),
    )


def start_watchdog(data_dir: Path, *args: str, env: dict[str, str] | None = None,
                   log: Path | None = None, poll: str | None = "0.2") -> subprocess.Popen[bytes]:
    """Module 1 in watchdog mode; `poll=None` keeps its default inbox poll (1 s)."""
    out = open(log or data_dir.parent / "module1.log", "wb")  # a file, never an unread pipe
    polling = ["--poll-seconds", poll] if poll else []
    return subprocess.Popen(
        [sys.executable, str(MAIN), "--data-dir", str(data_dir), *polling, *args],
        stdout=out, stderr=subprocess.STDOUT, env=env or module1_env(),
    )


def write_source(path: Path, posts: int = 60, seed: int = 3) -> Path:
    """A small realistic account export in the generic JSONL format."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(to_jsonl(generate_sample_posts(seed=seed, n_posts=posts, days=60)), encoding="utf-8")
    return path


def module1_events(data_dir: Path) -> list[dict]:
    return [e for e in MinerStageTracker(data_dir / "miner_status.json").read_events() if e["source"] == "module1"]
