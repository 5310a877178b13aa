"""Stage history over a window: counts, success rates, durations, slowest accounts, failure reasons.

    content-miner-status history [--data-dir D] [--since 24h] [--json] [--chart FILE.png] [--top 10]

Reads the stage log beside the status file, read-only (`read_only.read_stage_log`: it writes nothing
into the data directory, not even SQLite's -wal/-shm). Events still waiting in a spill file (a
writer could not reach the log before it exited) are counted once a writer has merged them.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
import typing
from pathlib import Path

from rich.console import Console

from content_miner.common import layout

from .analytics import TOP_LIMIT, HistoryReport, Window, history_report, parse_since
from .history_view import report_json, tables, write_chart
from .read_only import LogUnreadable, read_stage_log

PROG = "content-miner-status history"


def _since(text: str) -> str:
    try:
        parse_since(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None
    return text.strip()


def _top(text: str) -> int:
    value = int(text)
    if not 1 <= value <= 100:
        raise argparse.ArgumentTypeError(f"must be 1-100, got {value}")
    return value


class _OneLineParser(argparse.ArgumentParser):
    def error(self, message: str) -> typing.NoReturn:
        self.exit(2, f"{self.prog}: error: {message} (see --help)\n")


def build_parser() -> argparse.ArgumentParser:
    parser = _OneLineParser(prog=PROG, description="Stage history of a miner over a window of time.")
    parser.add_argument("--data-dir", help=f"data directory (default: ${layout.DATA_DIR_ENV} or "
                        f"{layout.DEFAULT_DATA_DIR})")
    parser.add_argument("--since", type=_since, default="24h",
                        help="the window: the last 30m, 24h, 7d, 2w... (default: 24h)")
    parser.add_argument("--json", action="store_true", help="print the figures as JSON (stable keys)")
    parser.add_argument("--chart", type=Path, metavar="FILE.png",
                        help="also draw each stage's durations over time (p50, p95) into this PNG")
    parser.add_argument("--top", type=_top, default=TOP_LIMIT,
                        help=f"how many slowest accounts and failure reasons (default: {TOP_LIMIT})")
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    paths = layout.DataLayout.from_settings(args.data_dir)
    log = paths.stage_log
    window = Window.last(parse_since(args.since), time.time())
    try:
        report: HistoryReport = read_stage_log(log, lambda db: history_report(db, window, top=args.top))
    except LogUnreadable as exc:
        print(f"{PROG}: {exc} (has the miner run with this data directory?)", file=sys.stderr)
        return 1
    chart = args.chart.expanduser().absolute() if args.chart else None
    if chart is not None:
        try:
            write_chart(report, chart, since=args.since, tool_dir=paths.tool_files / "matplotlib")
        except OSError as exc:
            print(f"{PROG}: cannot write the chart {chart}: {exc.strerror or exc}", file=sys.stderr)
            return 1
    if args.json:
        print(json.dumps(report_json(report, since=args.since, log=log, chart=chart), indent=2, ensure_ascii=False))
        return 0
    console = Console()
    for table in tables(report, since=args.since, log=log):
        console.print(table)
    if chart is not None:
        console.print(f"chart: {chart}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
