"""Module 1: the content pipeline.

    python Miners/main.py [--data-dir D] [--once] [--wait-seconds 300] [--poll-seconds 1]
    python Miners/main.py --platform twitter --username NAME [--force-fresh] [--source FILE] [--data-dir D]

Without --username it runs in watchdog mode (how the miner starts it): every account file dropped
in `<data_dir>/AccountInfo/` is processed, oldest first. With --username it processes that one
account now and exits 0 on success, non-zero with a one-line reason on failure.
"""

from __future__ import annotations

import sys
from typing import TYPE_CHECKING

sys.dont_write_bytecode = True  # nothing is written into the source tree, not even __pycache__

try:
    import content_pipeline  # noqa: F401
except ImportError:  # run as a script without the project installed: Miners/ is the import root
    from pathlib import Path

    sys.path.insert(0, str(Path(__file__).resolve().parent))

import argparse
import logging
import os
import threading

from filelock import FileLock, Timeout

import miner_paths
from stage_calls import set_source

if TYPE_CHECKING:
    from content_pipeline.pipeline import AccountPipeline
    from miner_stage_tracker import MinerStageReporter

logger = logging.getLogger("module1")


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description="Module 1: turns social-media accounts into content plans.")
    parser.add_argument("--data-dir", help=f"data directory (default: ${miner_paths.DATA_DIR_ENV}, "
                        f"else {miner_paths.DEFAULT_DATA_DIR})")
    direct = parser.add_argument_group("direct mode (one account now)")
    direct.add_argument("--platform", default="twitter", help="platform of --username (default: twitter)")
    direct.add_argument("--username", help="process this account now, then exit")
    direct.add_argument("--force-fresh", action="store_true", help="scrape again even if cached")
    direct.add_argument("--source", help="import this local export instead of scraping live")
    direct.add_argument("--max-posts", type=int, help="use at most this many recent posts")
    watch = parser.add_argument_group("watchdog mode (the default)")
    watch.add_argument("--once", action="store_true", help="process the waiting accounts, then exit")
    watch.add_argument("--wait-seconds", type=float, default=300.0, help="how often the waiting line is reported")
    watch.add_argument("--poll-seconds", type=float, default=1.0, help="how often the inbox is checked")
    parser.add_argument("--recommendations", type=int, default=15, help="recommendations per plan")
    parser.add_argument("--log-level", default="INFO", choices=["DEBUG", "INFO", "WARNING", "ERROR"])
    parser.add_argument("--quiet", action="store_true",
                        help="do not print the stage lines on stdout (the miner, which logs them itself, passes it)")
    args = parser.parse_args(argv)
    for name in ("wait_seconds", "poll_seconds", "recommendations"):
        if getattr(args, name) <= 0:
            parser.error(f"--{name.replace('_', '-')} must be positive")
    return args


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    logging.basicConfig(level=args.log_level, stream=sys.stderr,
                        format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    for noisy in ("filelock", "chromadb", "httpx", "httpcore", "matplotlib", "PIL"):
        logging.getLogger(noisy).setLevel(logging.WARNING)
    data_dir = miner_paths.data_dir(args.data_dir)
    os.environ[miner_paths.DATA_DIR_ENV] = str(data_dir)  # the tracker and child code find it here
    miner_paths.keep_tool_files_inside(data_dir)
    # Imported only now: matplotlib reads MPLCONFIGDIR when it is imported.
    from content_pipeline.inbox import AccountInbox
    from content_pipeline.modes import InboxWatcher, WatchSettings, install_shutdown_handlers
    from content_pipeline.pipeline import AccountPipeline, PipelineSettings
    from content_pipeline.scraping import ScrapeSettings

    set_source("module1")
    try:
        data_dir.mkdir(parents=True, exist_ok=True)
        scrape_settings = ScrapeSettings.from_env()
    except (OSError, ValueError) as exc:
        print(f"main.py: cannot start: {' '.join(str(exc).split())}", file=sys.stderr)
        return 2
    pipeline = AccountPipeline(PipelineSettings(data_dir=data_dir, scrape=scrape_settings,
                                                recommendations=args.recommendations))
    # One Module 1 per data directory: the embedded vector store belongs to one process.
    lock = FileLock(str(data_dir / "module1.lock"), timeout=0)
    try:
        lock.acquire()
    except Timeout:
        print(f"main.py: another Module 1 is running on {data_dir}; drop an account file in "
              f"{data_dir / miner_paths.ACCOUNT_INBOX} instead", file=sys.stderr)
        return 3
    stop = threading.Event()
    install_shutdown_handlers(stop)
    if args.username is not None:
        return _direct(pipeline, args)
    watcher = InboxWatcher(pipeline, AccountInbox(data_dir), WatchSettings(
        wait_seconds=args.wait_seconds, poll_seconds=args.poll_seconds, once=args.once), stop)
    reporter = _stage_lines(args.quiet)
    try:
        watcher.run()
    except Exception as exc:  # start-up failure, already reported as a failed Stage 0
        print(f"main.py: {' '.join(str(exc).split())}", file=sys.stderr)
        return 1
    finally:
        if reporter is not None:
            reporter.stop_monitoring()
    logger.info("Watchdog mode stopped: %d accounts processed, %d failed", watcher.processed, watcher.failed)
    return 0


def _stage_lines(quiet: bool) -> MinerStageReporter | None:
    """The operator's stage lines on stdout, as the miner would log them; None when quiet."""
    if quiet:
        return None
    from miner_stage_tracker import MinerStageReporter, get_tracker

    operator = logging.getLogger("stages")
    handler = logging.StreamHandler(sys.stdout)
    handler.setFormatter(logging.Formatter("[%(levelname)s] %(message)s"))
    operator.addHandler(handler)
    operator.propagate = False
    reporter = MinerStageReporter(get_tracker(), operator)
    reporter.start_monitoring(check_interval=0.2)
    return reporter


def _direct(pipeline: AccountPipeline, args: argparse.Namespace) -> int:
    from content_pipeline.modes import run_direct

    reporter = _stage_lines(args.quiet)
    request = {"platform": args.platform, "username": args.username, "force_fresh": args.force_fresh,
               "source": os.path.abspath(args.source) if args.source else None, "max_posts": args.max_posts}
    code, line = run_direct(pipeline, request, force_fresh=args.force_fresh)
    if reporter is not None:
        reporter.stop_monitoring()
    print(line if code == 0 else f"main.py: {line}", file=sys.stdout if code == 0 else sys.stderr)
    return code


if __name__ == "__main__":
    sys.exit(main())
