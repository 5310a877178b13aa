#!/usr/bin/env python3
"""Show what every module and account of a miner is doing now.

    content-miner-status [--data-dir D] [--json] [--watch]    (python -m content_miner.tracker.status_command)
    content-miner-status history [--since 24h] [--json] [--chart FILE.png] ...     (history_command.py)

Reads the status file (`MINER_STATUS_FILE`, else `miner_status.json` in the data directory): the
snapshot the writers keep up to date within about a second. It never writes anything, and never
opens the stage log (even a reader of an SQLite WAL database creates files beside it). `history`
reads the stage log, read-only, without creating anything beside it either.
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import sys
import time
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.live import Live
from rich.table import Table

from content_miner.common import layout
from content_miner.tracker import snapshot
from content_miner.tracker.live import read_published, stats_from_rows
from content_miner.tracker.status_view import StatusRow, age, clock, duration, eta_text, progress_bar, status_rows

STATUS_STYLE = {"running": "yellow", "completed": "green", "failed": "bold red", "stalled": "bold magenta",
                "idle": "dim"}


def live_state(path: Path) -> dict[str, Any]:
    """The snapshot's live state (`current`, `last_seq`, `log_id`, times), empty while there is none."""
    doc = snapshot.read(path) or {}
    return {key: doc.get(key, {} if key == "current" else None) for key in snapshot.HEADER_KEYS}


def _rows(status: dict[str, Any]) -> list[StatusRow]:
    """The entries judged by the stage definitions and stall rules the miner published (its
    `--stages.file` and `--stages.*` flags), so this command says `stalled` when the miner does."""
    definitions, rules = read_published(status.get("published"))
    return status_rows(status["current"], stats_from_rows(status.get("stage_stats")), definitions, rules=rules)


def build_table(path: Path) -> Table:
    status = live_state(path)
    table = Table(title=f"Miner status - {path}", title_justify="left")
    for column in ("Source", "Account", "Stage", "Status", "Progress", "ETA", "Message", "Since", "Last duration"):
        table.add_column(column, overflow="fold")
    for row in _rows(status):
        table.add_row(
            row.source,
            row.account,
            row.stage,
            f"[{STATUS_STYLE.get(row.status, '')}]{row.status}[/]",
            progress_bar(row.live),
            eta_text(row.live),
            row.message,
            f"{age(row.since)} ({clock(row.since)[11:19]})",
            duration(row.last_duration_s),
        )
    if not status["current"]:
        table.caption = "no stage has been reported yet"
    else:
        table.caption = f"last event #{status['last_seq']} at {clock(status['updated_at'])}"
    return table


def _interrupt(signum: int, frame: object) -> None:
    raise KeyboardInterrupt


def main(argv: list[str] | None = None) -> int:
    """The command; its output piped into a reader that stops early (`| head`) ends it quietly."""
    try:
        return _main(argv)
    except BrokenPipeError:
        # Python would report the pipe again when it flushes stdout at exit: point it at nothing.
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 0


def _main(argv: list[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    if argv[:1] == ["history"]:
        from content_miner.tracker import history_command

        return history_command.main(argv[1:])
    parser = argparse.ArgumentParser(prog="content-miner-status", description="Show the miner's stage status; "
                                     "`content-miner-status history --help` for the stage history.")
    parser.add_argument("--data-dir", help=f"data directory (default: ${layout.DATA_DIR_ENV} or "
                        f"{layout.DEFAULT_DATA_DIR})")
    parser.add_argument("--json", action="store_true", help="print the live state as JSON")
    parser.add_argument("--watch", action="store_true", help="refresh every second until Ctrl-C")
    args = parser.parse_args(argv)

    # An explicit --data-dir wins over the environment.
    if args.data_dir:
        path = layout.DataLayout(layout.data_dir(args.data_dir)).status_file
    else:
        path = layout.DataLayout.from_settings().status_file
    if not path.exists() and not args.watch:
        print(f"miner_status: no status file at {path} (has the miner run with this data directory?)",
              file=sys.stderr)
        return 1
    if path.is_dir():
        print(f"miner_status: {path} is a directory, not a status file", file=sys.stderr)
        return 1
    if args.json:
        state = live_state(path)
        rows = _rows(state)
        for row in rows:  # each entry says what it means now: state, progress, ETA
            if row.live is not None:
                entry = state["current"][row.source][row.live.username]
                entry.update(state=row.live.state, eta_s=row.live.eta_s, eta_p90_s=row.live.eta_p90_s,
                             pipeline_eta_s=row.live.pipeline_eta_s, pipeline_eta_p90_s=row.live.pipeline_eta_p90_s)
        print(json.dumps(state, indent=2, ensure_ascii=False))
        return 0
    # Not a terminal (a pipe, a file): wide enough that rows are not folded at 80 columns.
    console = Console() if sys.stdout.isatty() else Console(width=240)
    if not args.watch:
        console.print(build_table(path))
        return 0
    signal.signal(signal.SIGTERM, _interrupt)
    try:
        if console.is_terminal:
            with Live(build_table(path), console=console, auto_refresh=False) as live:
                while True:
                    time.sleep(1.0)
                    live.update(build_table(path), refresh=True)
        while True:  # piped into a file or another program: one table per refresh
            console.print(build_table(path))
            console.file.flush()
            time.sleep(1.0)
    except KeyboardInterrupt:
        pass
    return 0


if __name__ == "__main__":
    sys.exit(main())
