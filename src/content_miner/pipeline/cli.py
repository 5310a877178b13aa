"""Module 1: the content pipeline.

    python Miners/main.py [--data-dir D] [--once] [--wait-seconds 300] [--poll-seconds 1]
    python Miners/main.py --platform twitter --username NAME [--force-fresh] [--source FILE] [--data-dir D]

Without --username it runs in watchdog mode (how the miner starts it): every account file dropped
in `<data_dir>/AccountInfo/` is processed, oldest first. With --username it processes that one
account now and exits 0 on success, non-zero with a one-line reason on failure.
"""

from __future__ import annotations

import argparse
import logging
import os
import sqlite3
import sys
import threading
from collections.abc import Mapping
from typing import TYPE_CHECKING

from content_miner.common import layout
from content_miner.common.shutdown import ShutdownSignals, StopDuringStartUp, starting_up

if TYPE_CHECKING:
    from content_miner.pipeline.pipeline import PipelineSettings
    from content_miner.tracker import MinerStageReporter

logger = logging.getLogger("module1")

SOURCE = "module1"  # the tracker source of Module 1's events
CHROMA_URL_ENV = "CHROMA_URL"  # a Chroma server to use instead of the embedded index


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description="Module 1: turns social-media accounts into content plans.")
    parser.add_argument("--data-dir", help=f"data directory (default: ${layout.DATA_DIR_ENV}, "
                        f"else {layout.DEFAULT_DATA_DIR})")
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
    watch.add_argument("--keep-days", type=float, default=7.0,
                       help="processed/ and failed/ account files and finished job records are kept this long "
                            "(default: 7)")
    watch.add_argument("--keep-files", type=int, default=1000,
                       help="... and at most this many account files per folder (default: 1000)")
    parser.add_argument("--recommendations", type=int, default=15, help="recommendations per plan")
    parser.add_argument("--stages-file", help="a TOML file of stage definitions (the miner passes its --stages.file)")
    parser.add_argument("--log-level", default="INFO", choices=["DEBUG", "INFO", "WARNING", "ERROR"])
    parser.add_argument("--quiet", action="store_true",
                        help="do not print the stage lines on stdout (the miner, which logs them itself, passes it)")
    args = parser.parse_args(argv)
    for name in ("wait_seconds", "poll_seconds", "recommendations", "keep_days", "keep_files"):
        if getattr(args, name) <= 0:
            parser.error(f"--{name.replace('_', '-')} must be positive")
    return args


def main(argv: list[str] | None = None) -> int:
    signals = ShutdownSignals("Module 1").install()  # before the heavy imports below
    args = parse_args(argv)
    logging.basicConfig(level=args.log_level, stream=sys.stderr,
                        format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    for noisy in ("filelock", "chromadb", "httpx", "httpcore", "matplotlib", "PIL"):
        logging.getLogger(noisy).setLevel(logging.WARNING)
    paths = layout.DataLayout.from_settings(args.data_dir)
    layout.keep_tool_files_inside(paths.root)
    from content_miner.stage_calls import configure
    from content_miner.tracker.definitions import DefinitionsError, load_definitions

    try:
        definitions = load_definitions(args.stages_file)
    except DefinitionsError as exc:
        print(f"main.py: {exc}", file=sys.stderr)
        return 2
    configure(paths.status_file, source=SOURCE, definitions=definitions)
    reporter = _stage_lines(args.quiet)
    try:
        code, result = _run(args, paths, signals)
    except StopDuringStartUp:
        logger.info("Received %s during start-up; stopped", signals.first)
        code, result = 0, ""
    finally:
        if reporter is not None:
            reporter.stop_monitoring()  # the last stage lines come before the result line
    if result:
        print(result if code == 0 else f"main.py: {result}", file=sys.stdout if code == 0 else sys.stderr)
    return code


def _run(args: argparse.Namespace, paths: layout.DataLayout, signals: ShutdownSignals) -> tuple[int, str]:
    """Module 1's work: (exit code, the one line for the user, "" for none)."""
    request = None
    if args.username is not None:
        # A bad account is refused now, before the pipeline's libraries are imported (seconds).
        from content_miner.pipeline.account import AccountFileError, parse_account
        from content_miner.stage_calls import stage_failed, stage_start

        stage_start(0, f"Direct processing mode for {args.platform} account: {args.username}")
        try:
            request = parse_account(_direct_request(args))
        except AccountFileError as exc:
            stage_failed(0, str(exc))
            return 2, str(exc)
    with starting_up(signals):  # a stop signal from here on ends the start at once
        # Imported only now: matplotlib reads MPLCONFIGDIR when it is imported.
        from filelock import FileLock, Timeout

        from content_miner.pipeline.inbox import AccountInbox
        from content_miner.pipeline.jobs import JobStore
        from content_miner.pipeline.modes import interrupt_on, run_direct
        from content_miner.pipeline.pipeline import AccountPipeline
        from content_miner.pipeline.watchdog import InboxWatcher, WatchSettings

        try:
            paths.root.mkdir(parents=True, exist_ok=True)
            settings = pipeline_settings(paths, args, os.environ)
        except (OSError, ValueError) as exc:
            return 2, f"cannot start: {' '.join(str(exc).split())}"
        pipeline = AccountPipeline(settings)
        # One Module 1 per data directory: the embedded vector store belongs to one process.
        lock = FileLock(str(paths.module1_lock), timeout=0)
        try:
            lock.acquire()
        except Timeout:
            return 3, f"another Module 1 is running on {paths.root}; drop an account file in {paths.inbox} instead"
        stop = threading.Event()
        interrupt_on(signals, stop)  # from now on a signal stops between accounts or interrupts a stage
    if request is not None:
        return run_direct(pipeline, request, force_fresh=args.force_fresh)
    try:
        store = JobStore(paths.jobs)
    except (OSError, sqlite3.Error) as exc:
        return 2, f"cannot open the job records {paths.jobs}: {exc}"
    watcher = InboxWatcher(pipeline, AccountInbox(paths), store, WatchSettings(
        wait_seconds=args.wait_seconds, poll_seconds=args.poll_seconds, once=args.once,
        keep_days=args.keep_days, keep_files=args.keep_files), stop)
    try:
        watcher.run()
    except Exception as exc:  # start-up failure, already reported as a failed Stage 0
        return 1, " ".join(str(exc).split())
    if signals.first is not None:
        logger.info("Received %s; stopped", signals.first)
    logger.info("Watchdog mode stopped: %d accounts processed, %d failed", watcher.processed, watcher.failed)
    return 0, ""


def pipeline_settings(
    paths: layout.DataLayout, args: argparse.Namespace, environ: Mapping[str, str]
) -> PipelineSettings:
    """Module 1's settings from its flags and the operator's environment, read here and only here."""
    from content_miner.pipeline.llm_drafts import drafter_from_env
    from content_miner.pipeline.pipeline import PipelineSettings
    from content_miner.pipeline.scraping import ScrapeSettings

    return PipelineSettings(layout=paths, scrape=ScrapeSettings.from_env(environ),
                            recommendations=args.recommendations,
                            chroma_url=(environ.get(CHROMA_URL_ENV) or "").strip() or None,
                            drafter=drafter_from_env(environ))


def _direct_request(args: argparse.Namespace) -> dict:
    return {"platform": args.platform, "username": args.username, "force_fresh": args.force_fresh,
            "source": os.path.abspath(args.source) if args.source else None, "max_posts": args.max_posts}


def _stage_lines(quiet: bool) -> MinerStageReporter | None:
    """The operator's stage lines on stdout, as the miner would log them; None when quiet."""
    if quiet:
        return None
    from content_miner.tracker import MinerStageReporter, get_tracker

    operator = logging.getLogger("stages")
    handler = logging.StreamHandler(sys.stdout)
    handler.setFormatter(logging.Formatter("[%(levelname)s] %(message)s"))
    operator.addHandler(handler)
    operator.propagate = False
    reporter = MinerStageReporter(get_tracker(), operator, get_tracker().definitions)
    reporter.start_monitoring(check_interval=0.2)
    return reporter
