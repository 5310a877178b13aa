"""Module 1: the content pipeline.

    python Miners/main.py [--data-dir D] [--once] [--wait-seconds 300] [--poll-seconds 1]
    python Miners/main.py --platform twitter --username NAME [--force-fresh] [--source FILE] [--data-dir D]
    python Miners/main.py backtest --platform P --username U --source FILE [--holdout 0.2] [--data-dir D]
    python Miners/main.py predict --platform P --username U --posts FILE [--data-dir D]

Without --username it runs in watchdog mode (how the miner starts it): every account file dropped
in `<data_dir>/AccountInfo/` is processed, oldest first. With --username it processes that one
account now and exits 0 on success, non-zero with a one-line reason on failure. `backtest` builds
the plan on the account's older posts and scores it on its newest ones; `predict` scores posts
(drafts) with the account's engagement model. Bad arguments are refused in one line before the
pipeline's libraries are imported.
"""

from __future__ import annotations

import argparse
import logging
import os
import sqlite3
import sys
import threading
from collections.abc import Mapping
from typing import TYPE_CHECKING, NoReturn

from content_miner.common import layout
from content_miner.common.account import AccountKey, InvalidAccount
from content_miner.common.shutdown import ShutdownSignals, StopDuringStartUp, starting_up

if TYPE_CHECKING:
    from content_miner.pipeline.pipeline import PipelineSettings
    from content_miner.tracker import MinerStageReporter

logger = logging.getLogger("module1")

SOURCE = "module1"  # the tracker source of Module 1's events
CHROMA_URL_ENV = "CHROMA_URL"  # a Chroma server to use instead of the embedded index
COMMANDS = ("backtest", "predict")
MIN_HOLDOUT, MAX_HOLDOUT = 0.05, 0.5


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description="Module 1: turns social-media accounts into content plans.",
        epilog="tools: 'backtest' (score the plan on the account's newest posts) and 'predict' (score drafts "
               "with the account's engagement model); see 'Miners/main.py backtest --help'.")
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
    arguments = sys.argv[1:] if argv is None else list(argv)
    if arguments and arguments[0] in COMMANDS:
        return run_tool(arguments)
    signals = ShutdownSignals("Module 1").install()  # before the heavy imports below
    args = parse_args(arguments)
    paths = _logging_and_paths(args)
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
    # One Module 1 per data directory (the embedded vector store belongs to one process): checked before
    # anything is reported, so a refused run leaves no stage of its own in the running one's log.
    from filelock import FileLock, Timeout

    lock = FileLock(str(paths.module1_lock), timeout=0)
    try:
        paths.root.mkdir(parents=True, exist_ok=True)
        lock.acquire()
    except Timeout:
        return 3, f"another Module 1 is running on {paths.root}; drop an account file in {paths.inbox} instead"
    except OSError as exc:
        return 2, f"cannot start: {' '.join(str(exc).split())}"
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
        from content_miner.pipeline.inbox import AccountInbox
        from content_miner.pipeline.jobs import JobStore
        from content_miner.pipeline.modes import interrupt_on, run_direct
        from content_miner.pipeline.pipeline import AccountPipeline, Shutdown
        from content_miner.pipeline.watchdog import InboxWatcher, WatchSettings

        try:
            settings = pipeline_settings(paths, args, os.environ)  # the data directory exists (the lock's)
        except (OSError, ValueError) as exc:
            return 2, f"cannot start: {' '.join(str(exc).split())}"
        pipeline = AccountPipeline(settings)
        stop = threading.Event()
        interrupt_on(signals, stop)  # from now on a signal stops between accounts or interrupts a stage
    try:
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
    except Shutdown:  # a stop outside any account's stages (the models loading, between cycles): nothing to undo
        logger.info("Received %s; stopped", signals.first)
        return 0, ""
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


def _logging_and_paths(args: argparse.Namespace) -> layout.DataLayout:
    """Logging to stderr at `--log-level` (libraries' chatter quiet) and the data directory, whose
    libraries' files (matplotlib's cache...) stay inside it."""
    logging.basicConfig(level=args.log_level, stream=sys.stderr,
                        format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    for noisy in ("filelock", "chromadb", "httpx", "httpcore", "matplotlib", "PIL"):
        logging.getLogger(noisy).setLevel(logging.WARNING)
    paths = layout.DataLayout.from_settings(args.data_dir)
    layout.keep_tool_files_inside(paths.root)
    return paths


# -- the tools: backtest and predict -----------------------------------------------------------------
class OneLineParser(argparse.ArgumentParser):
    """A user mistake is one line on stderr (exit code 2), not the usage block; --help shows the usage."""

    def error(self, message: str) -> NoReturn:
        self.exit(2, f"{self.prog}: {' '.join(message.split())} (see --help)\n")


def parse_tool_args(argv: list[str]) -> argparse.Namespace:
    from content_miner.pipeline.embedder_names import EMBEDDER_NAMES, MINILM_NAME

    parser = OneLineParser(prog="main.py", description="Module 1's tools.")
    tools = parser.add_subparsers(dest="command", required=True)
    test = tools.add_parser(
        "backtest", help="build the plan on the account's older posts and score it on its newest ones",
        description="Splits the account's posts by time, builds the plan on the older ones and scores every "
                    "claim on the newest ones against baselines (random slots, best raw-mean hours, nearest "
                    "neighbours), with 90 %% intervals. Prints the table and writes "
                    "exports/<platform>/<username>/backtest.json.")
    score = tools.add_parser(
        "predict", help="score posts (drafts) with the account's engagement model",
        description="Prints one JSON line per post: id, predicted_engagement and the 50 %% interval [low, high]. "
                    "Uses the model of the account's last plan.")
    for sub in (test, score):
        sub.add_argument("--data-dir", help=f"data directory (default: ${layout.DATA_DIR_ENV}, "
                         f"else {layout.DEFAULT_DATA_DIR})")
        sub.add_argument("--platform", default="twitter", help="default: twitter")
        sub.add_argument("--username", required=True)
        sub.add_argument("--log-level", default="WARNING", choices=["DEBUG", "INFO", "WARNING", "ERROR"])
    test.add_argument("--source", required=True, help="the account's posts: an X archive tweets.js, .jsonl, .json "
                      "or .csv (the import formats)")
    test.add_argument("--holdout", type=float, default=0.2,
                      help=f"share of the newest posts to score on ({MIN_HOLDOUT}-{MAX_HOLDOUT}, default 0.2)")
    test.add_argument("--embedder", default=MINILM_NAME, choices=EMBEDDER_NAMES, help=argparse.SUPPRESS)
    test.add_argument("--force-fresh", action="store_true", help="import the source again even if cached")
    score.add_argument("--posts", required=True, help="the posts to score, in the import formats (only the text "
                       "is required)")
    args = parser.parse_args(argv)
    if args.command == "backtest" and not MIN_HOLDOUT <= args.holdout <= MAX_HOLDOUT:
        parser.error(f"--holdout must be between {MIN_HOLDOUT} and {MAX_HOLDOUT}")
    return args


def run_tool(argv: list[str]) -> int:
    """`backtest` or `predict`: (exit code) after printing the result or one line."""
    args = parse_tool_args(argv)
    try:
        key = AccountKey.parse(args.platform, args.username)
    except InvalidAccount as exc:
        print(f"main.py {args.command}: {exc}", file=sys.stderr)
        return 2
    file_flag = "--source" if args.command == "backtest" else "--posts"
    problem = _unreadable(args.source if args.command == "backtest" else args.posts)
    if problem:
        print(f"main.py {args.command}: {file_flag} {problem}", file=sys.stderr)
        return 2
    paths = _logging_and_paths(args)
    from content_miner.pipeline.commands import CommandError

    try:
        if args.command == "predict":
            return _predict(paths, key, args)
        return _backtest(paths, key, args)
    except CommandError as exc:
        print(f"main.py {args.command}: {exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print(f"main.py {args.command}: interrupted", file=sys.stderr)
        return 130
    except Exception as exc:  # a bug, not a user mistake: one line here, the traceback with --log-level DEBUG
        logger.debug("%s failed", args.command, exc_info=True)
        print(f"main.py {args.command}: internal error: {type(exc).__name__}: {' '.join(str(exc).split())[:300]}",
              file=sys.stderr)
        return 1


def _unreadable(path: str) -> str:
    """'' if `path` is a readable regular file, else what is wrong with it."""
    try:
        mode = os.stat(path).st_mode
    except FileNotFoundError:
        return f"file not found: {path}"
    except OSError as exc:
        return f"cannot be read: {path}: {exc.strerror or exc}"
    import stat

    if not stat.S_ISREG(mode):
        return f"is not a regular file: {path}"
    if not os.access(path, os.R_OK):
        return f"cannot be read: {path}: permission denied"
    return ""


def _predict(paths: layout.DataLayout, key: AccountKey, args: argparse.Namespace) -> int:
    from pathlib import Path

    from content_miner.pipeline.commands import predict

    lines, note = predict(paths, key, Path(args.posts).absolute())
    for line in lines:
        print(line)
    if note:
        print(f"main.py predict: {note}", file=sys.stderr)
    return 0


def _backtest(paths: layout.DataLayout, key: AccountKey, args: argparse.Namespace) -> int:
    from filelock import FileLock, Timeout

    from content_miner.pipeline.account import parse_account
    from content_miner.pipeline.commands import backtest

    try:
        paths.root.mkdir(parents=True, exist_ok=True)
        settings = pipeline_settings(paths, argparse.Namespace(recommendations=15), os.environ)
    except (OSError, ValueError) as exc:
        print(f"main.py backtest: cannot start: {' '.join(str(exc).split())}", file=sys.stderr)
        return 2
    request = parse_account({"platform": key.platform, "username": key.username, "force_fresh": args.force_fresh,
                             "source": os.path.abspath(args.source)})
    # The embedded vector index belongs to one process: while a Module 1 runs on this data
    # directory, the back-test embeds without writing the index.
    lock = FileLock(str(paths.module1_lock), timeout=0)
    try:
        lock.acquire()
        index_free = False
    except Timeout:
        index_free = settings.chroma_url is None
    try:
        run = backtest(paths, request, holdout=args.holdout, embedder_name=args.embedder,
                       scrape_settings=settings.scrape, chroma_url=settings.chroma_url, index_free=index_free)
    finally:
        if lock.is_locked:
            lock.release()
    print(run.table)
    print(f"\nBack-test written to {run.path}")
    return 0
