"""Putting an account into Module 1's inbox: one AccountInfo JSON file, written atomically.

The file appears under its final name only once complete (a dot-named temp file, which Module 1
ignores, then a rename), so Module 1 never reads half a file. `find_pending` finds an account's
file still waiting or being processed by what the file holds, whoever dropped it and whenever.
"""

from __future__ import annotations

import json
import os
import time
from pathlib import Path

import miner_paths
from content_pipeline.account import AccountFileError, load_account_file

INBOX_FOLDERS = ("", "processing", "processed", "failed")  # where a file goes, in Module 1's order
PENDING_FOLDERS = ("processing", "")  # the file Module 1 has now first, then those waiting
JSON_SUFFIX = ".json"

# What an inbox file holds, by (path, mtime_ns, size): files are moved, never changed (inbox.py),
# so a file is read once however often the inbox is searched.
AccountKeys = dict[tuple[str, int, int], tuple[str, str] | None]


def inbox_dir(data_dir: Path) -> Path:
    return data_dir / miner_paths.ACCOUNT_INBOX


def drop_account_file(data_dir: Path, *, platform: str, username: str, force_fresh: bool = False,
                      max_posts: int | None = None, source: str | None = None, origin: str = "axon") -> str:
    """Write the account's file into the inbox; returns its stem, which names it in every folder."""
    inbox = inbox_dir(data_dir)
    inbox.mkdir(parents=True, exist_ok=True)
    stem = f"{origin}-{platform}-{username.lower()}-{time.time_ns()}"
    body = {"platform": platform, "username": username, "force_fresh": force_fresh,
            "max_posts": max_posts, "source": source}
    temp = inbox / f".{stem}.json.tmp"
    temp.write_text(json.dumps(body, indent=2) + "\n", encoding="utf-8")
    os.replace(temp, inbox / f"{stem}.json")
    return stem


def locate(data_dir: Path, stem: str) -> tuple[str, Path] | None:
    """Where Module 1 has the file now: ("inbox" | "processing" | "processed" | "failed", path).

    Module 1 renames files as it moves them (time stamps, retry marks) but keeps the stem first.
    """
    root = inbox_dir(data_dir)
    for folder in INBOX_FOLDERS:
        where = root / folder if folder else root
        try:
            names = [entry.name for entry in os.scandir(where) if entry.is_file()]
        except OSError:
            continue
        for name in names:
            if name.startswith(stem) and name.endswith(".json"):
                return (folder or "inbox"), where / name
    return None


def failure_reason(path: Path) -> str:
    """The one-line reason Module 1 wrote beside a failed file (without its time stamp)."""
    try:
        text = path.with_name(path.name + ".reason.txt").read_text(encoding="utf-8", errors="replace").strip()
    except OSError:
        return "Module 1 could not process this account"
    first, _, rest = text.partition(" ")
    return rest if first[:4].isdigit() and rest else text


def find_pending(data_dir: Path, platform: str, username: str, known: AccountKeys | None = None,
                 ) -> tuple[str, float] | None:
    """The (stem, modification time) of a file for this account (`username` lower-cased) that waits in
    the inbox or is being processed; None if there is none. `known` caches what files hold."""
    known = {} if known is None else known
    seen: set[tuple[str, int, int]] = set()
    found: tuple[str, float] | None = None
    root = inbox_dir(data_dir)
    for folder in PENDING_FOLDERS:
        try:
            entries = list(os.scandir(root / folder if folder else root))
        except OSError:
            continue
        for entry in entries:
            # The names Module 1 takes (inbox.py): dot files are temp files being written.
            if entry.name.startswith(".") or not entry.name.lower().endswith(JSON_SUFFIX):
                continue
            try:
                if not entry.is_file(follow_symlinks=False):
                    continue
                info = entry.stat(follow_symlinks=False)
            except OSError:
                continue
            cache_key = (entry.path, info.st_mtime_ns, info.st_size)
            seen.add(cache_key)
            if cache_key not in known:
                known[cache_key] = _account_of(Path(entry.path))
            if found is None and known[cache_key] == (platform, username):
                found = (entry.name[: -len(JSON_SUFFIX)], info.st_mtime)
    for stale in set(known) - seen:  # files that moved on
        del known[stale]
    return found


def _account_of(path: Path) -> tuple[str, str] | None:
    try:
        request = load_account_file(path)
    except AccountFileError:
        return None  # Module 1 will move it to failed/ with the reason
    return request.platform, request.username.lower()
