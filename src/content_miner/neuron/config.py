"""The miner's command line: bittensor's standard flags plus the miner's own, as a bt.Config.

Built the classic way (argparse, then each bittensor class's `add_args`, then `bt.Config`).
`bt.Config` ignores the command line unless BT_NO_PARSE_CLI_ARGS is false (BITTENSOR.md), so it
is set for that one call, and the arguments are passed explicitly (an empty list would fall back to
sys.argv). Only for that call: bittensor builds configs of its own (MockSubtensor, a Subtensor
without one) from sys.argv with a parser that knows only its own flags, which then loads --config
again and, with --strict, exits on the miner's flags.
Ranges are checked by `config_checks.check_config`; `--config FILE.yaml` is read by `config_file`.
"""

from __future__ import annotations

import argparse
import os
import typing
from typing import Any

import bittensor as bt

from content_miner.common import layout
from content_miner.dashboard import DEFAULT_HOST as DASHBOARD_HOST
from content_miner.dashboard import TOKEN_ENV as DASHBOARD_TOKEN_ENV
from content_miner.neuron.config_file import ConfigFileError, load_config_file, parse_bool
from content_miner.neuron.shutdown_budget import MAX_STOP_TIMEOUT_S
from content_miner.tracker.writer import Retention

DEFAULT_MODULE2_PORT = 8094
DEFAULT_METRICS_PORT = 9188
DEFAULT_METRICS_HOST = "127.0.0.1"
PARSE_CLI_ENV = "BT_NO_PARSE_CLI_ARGS"


class OneLineParser(argparse.ArgumentParser):
    """argparse that reports a bad flag in one line (the usage block is for --help)."""

    def error(self, message: str) -> typing.NoReturn:
        self.exit(2, f"{self.prog}: error: {message} (see --help)\n")


def build_parser() -> argparse.ArgumentParser:
    # No abbreviations: `--config` must be found exactly to be taken out before bt.Config (below).
    parser = OneLineParser(prog="neurons/miner.py", description="Content-recommendation miner", allow_abbrev=False)
    parser.add_argument("--netuid", type=int, default=1, help="subnet uid (default: 1)")
    parser.add_argument("--data-dir", dest="data_dir", default=None,
                        help=f"where everything is written (default: ${layout.DATA_DIR_ENV}, else ~/.content-miner)")
    parser.add_argument("--mock", action="store_true", help="run fully offline: mock chain, wallets in the data dir")
    parser.add_argument("--no_sample", "--no-sample", dest="no_sample", action="store_true",
                        help="with --mock: do not queue the packaged sample account at start-up")
    parser.add_argument("--blacklist.force_validator_permit", dest="blacklist.force_validator_permit", type=parse_bool,
                        nargs="?", const=True, default=True, help="only validators may call (default: true)")
    parser.add_argument("--blacklist.allow_non_registered", dest="blacklist.allow_non_registered", type=parse_bool,
                        nargs="?", const=True, default=False, help="let unregistered keys call (default: false)")
    parser.add_argument("--blacklist.requests_per_minute", dest="blacklist.requests_per_minute", type=float,
                        default=600.0, help="per-hotkey request rate (default: 600)")
    parser.add_argument("--blacklist.burst", dest="blacklist.burst", type=int, default=200,
                        help="per-hotkey burst above the rate (default: 200)")
    parser.add_argument("--axon.max_body_bytes", dest="axon.max_body_bytes", type=int, default=64 * 1024,
                        help="larger request bodies are refused with 413 (default: 65536)")
    parser.add_argument("--axon.max_header_bytes", dest="axon.max_header_bytes", type=int, default=64 * 1024,
                        help="larger request heads are refused with 431 (default: 65536)")
    parser.add_argument("--axon.read_timeout", dest="axon.read_timeout", type=float, default=10.0,
                        help="seconds a client has to send a whole request, from connecting or its first byte; "
                             "then 408 and closed (default: 10)")
    parser.add_argument("--axon.keep_alive", dest="axon.keep_alive", type=int, default=30,
                        help="seconds an idle connection is kept for the next request; more than a Dendrite's "
                             "15 s (default: 30)")
    parser.add_argument("--axon.max_connections", dest="axon.max_connections", type=int, default=500,
                        help="connections at once; more are answered 503 and closed (default: 500)")
    parser.add_argument("--axon.head_strikes", dest="axon.head_strikes", type=int, default=5,
                        help="a client address that sends this many request heads over --axon.max_header_bytes "
                             "within --axon.strike_window has its new connections turned away unread (held at most "
                             "--axon.read_timeout, then closed) for --axon.cooldown (default: 5; 0: never)")
    parser.add_argument("--axon.strike_window", dest="axon.strike_window", type=float, default=60.0,
                        help="seconds within which --axon.head_strikes heads over the limit count (default: 60)")
    parser.add_argument("--axon.cooldown", dest="axon.cooldown", type=float, default=60.0,
                        help="seconds an address's new connections are turned away after its strikes; it never "
                             "lasts longer (default: 60)")
    parser.add_argument("--axon.nonce_window", dest="axon.nonce_window", type=float, default=60.0,
                        help="seconds a signed request stays valid at most (bittensor: 4 s + its timeout); "
                             "its nonce is remembered that long, so a replay is refused (default: 60)")
    parser.add_argument("--axon.refusal_log_interval", dest="axon.refusal_log_interval", type=float, default=60.0,
                        help="refused requests are logged as counts: one line per caller and reason per this "
                             "many seconds (default: 60)")
    parser.add_argument("--metrics.port", dest="metrics.port", type=int, default=DEFAULT_METRICS_PORT,
                        help=f"the port of /metrics for Prometheus (default: {DEFAULT_METRICS_PORT}; 0: any free port, "
                             "written to run/miner.json as metrics_port)")
    parser.add_argument("--metrics.host", dest="metrics.host", default=DEFAULT_METRICS_HOST,
                        help=f"the address /metrics listens on (default: {DEFAULT_METRICS_HOST}; any other is "
                             "allowed with a warning: /metrics has no authentication)")
    parser.add_argument("--status.interval", dest="status.interval", type=float, default=30.0,
                        help="seconds between status lines (default: 30)")
    parser.add_argument("--stages.file", dest="stages.file", default=None,
                        help="a TOML file of stage definitions (names, descriptions, expected and maximum "
                             "durations per source); the miner passes it to both modules (default: built-in)")
    parser.add_argument("--stages.stall_factor", dest="stages.stall_factor", type=float, default=3.0,
                        help="a running stage without start or progress for this many times its usual (p95) "
                             "duration is stalled (default: 3)")
    parser.add_argument("--stages.stall_restart_factor", dest="stages.stall_restart_factor", type=float,
                        default=2.0, help="past this many times its stall limit, the module is restarted and the "
                                          "stage closed as failed (default: 2)")
    parser.add_argument("--stages.poll_interval", dest="stages.poll_interval", type=float, default=0.5,
                        help="how often stage events are turned into log lines (default: 0.5 s)")
    parser.add_argument("--tracker.keep_days", dest="tracker.keep_days", type=float, default=Retention.keep_days,
                        help="days of stage events the stage log keeps (default: "
                             f"{Retention.keep_days:g}); the miner prunes older ones")
    parser.add_argument("--tracker.max_rows", dest="tracker.max_rows", type=int, default=Retention.max_rows,
                        help=f"stage events the stage log keeps at most (default: {Retention.max_rows:,})")
    parser.add_argument("--metagraph.sync_interval", dest="metagraph.sync_interval", type=float, default=300.0,
                        help="seconds between metagraph syncs (default: 300)")
    parser.add_argument("--module1.script", dest="module1.script", default=None,
                        help="a script to run as Module 1 instead of `python -m content_miner.pipeline`")
    parser.add_argument("--module1.wait_seconds", dest="module1.wait_seconds", type=float, default=300.0,
                        help="Module 1: how often it reports that it is waiting (default: 300)")
    parser.add_argument("--module1.poll_seconds", dest="module1.poll_seconds", type=float, default=1.0,
                        help="Module 1: how often it looks at the inbox (default: 1)")
    parser.add_argument("--jobs.max_per_hotkey", dest="jobs.max_per_hotkey", type=int, default=20,
                        help="accounts one validator may have queued or in progress at once (default: 20)")
    parser.add_argument("--jobs.max_queued", dest="jobs.max_queued", type=int, default=500,
                        help="accounts waiting in all; more are answered `rejected` (default: 500)")
    parser.add_argument("--jobs.retry_cooldown", dest="jobs.retry_cooldown", type=float, default=600.0,
                        help="seconds before a failed account may be queued again (default: 600)")
    parser.add_argument("--inbox.keep_days", dest="inbox.keep_days", type=float, default=7.0,
                        help="days Module 1 keeps processed/failed account files and finished job records "
                             "(default: 7)")
    parser.add_argument("--inbox.keep_files", dest="inbox.keep_files", type=int, default=1000,
                        help="account files kept per folder of processed/ and failed/ (default: 1000)")
    parser.add_argument("--module2.script", dest="module2.script", default=None,
                        help="a script to run as Module 2 instead of `python -m content_miner.images`")
    parser.add_argument("--module2.port", dest="module2.port", type=int, default=DEFAULT_MODULE2_PORT,
                        help=f"Module 2's loopback port (default: {DEFAULT_MODULE2_PORT})")
    parser.add_argument("--supervisor.backoff_start", dest="supervisor.backoff_start", type=float, default=1.0,
                        help="first restart delay in seconds (default: 1)")
    parser.add_argument("--supervisor.backoff_factor", dest="supervisor.backoff_factor", type=float, default=2.0,
                        help="each fast failure multiplies the delay by this (default: 2)")
    parser.add_argument("--supervisor.backoff_max", dest="supervisor.backoff_max", type=float, default=60.0,
                        help="longest restart delay (default: 60)")
    parser.add_argument("--supervisor.stable_seconds", dest="supervisor.stable_seconds", type=float, default=60.0,
                        help="a run this long resets the backoff (default: 60)")
    parser.add_argument("--supervisor.max_fast_failures", dest="supervisor.max_fast_failures", type=int, default=5,
                        help="after this many fast failures in a row a module is left errored (default: 5)")
    parser.add_argument("--supervisor.stop_timeout", dest="supervisor.stop_timeout", type=float, default=5.0,
                        help="seconds a module gets to stop before it is killed (default: 5, at most "
                             f"{MAX_STOP_TIMEOUT_S:g}: the miner exits within 10 s)")
    parser.add_argument("--supervisor.log_max_mb", dest="supervisor.log_max_mb", type=float, default=50.0,
                        help="a module's log file is copied aside and emptied past this size (default: 50 MB)")
    parser.add_argument("--supervisor.log_keep", dest="supervisor.log_keep", type=int, default=3,
                        help="copies of each module's log kept (<module>.log.1 ...; default: 3)")
    parser.add_argument("--supervisor.health_interval", dest="supervisor.health_interval", type=float, default=5.0,
                        help="seconds between Module 2 health checks (default: 5)")
    parser.add_argument("--supervisor.health_timeout", dest="supervisor.health_timeout", type=float, default=2.0,
                        help="a health check not answered within this many seconds failed (default: 2)")
    parser.add_argument("--supervisor.health_failures", dest="supervisor.health_failures", type=int, default=3,
                        help="failed health checks in a row before Module 2 is restarted (default: 3)")
    parser.add_argument("--dashboard.port", dest="dashboard.port", type=int, default=None,
                        help="serve the read-only web dashboard on this port (off unless given; the README uses "
                             "8095; 0: any free port, written to run/dashboard.json)")
    parser.add_argument("--dashboard.host", dest="dashboard.host", default=DASHBOARD_HOST,
                        help=f"the dashboard's address (default: {DASHBOARD_HOST}; any other needs --dashboard.token)")
    parser.add_argument("--dashboard.token", dest="dashboard.token", default=None,
                        help=f"the dashboard's access token (or ${DASHBOARD_TOKEN_ENV}; at least 16 characters): "
                             "required for an address other machines can reach")
    # bittensor's own three (bt.Config adds them only to the parser it is given, after our strict
    # parse below, which would otherwise refuse them as unrecognized).
    parser.add_argument("--config", type=str, default=False,
                        help="a YAML file of settings (`axon.port: 8091` or nested); flags override it")
    parser.add_argument("--strict", action="store_true", default=False,
                        help="bittensor: refuse unknown flags (the miner always does)")
    parser.add_argument("--no_version_checking", action="store_true", default=False,
                        help="accepted for bittensor scripts (bittensor 10.5 has no version check to skip)")
    bt.Wallet.add_args(parser)
    bt.Subtensor.add_args(parser)
    bt.Axon.add_args(parser)
    bt.logging.add_args(parser)
    return parser


def build_config(argv: list[str]) -> Any:
    """The bt.Config for `argv` and its --config file (bad flags or file: one line, exit 2)."""
    parser = build_parser()
    given = parser.parse_args(argv)  # bad flags: argparse's one-line error and exit 2, before bittensor sees them
    if given.config:
        try:
            load_config_file(parser, given.config)
        except ConfigFileError as err:
            parser.error(str(err))
        given = parser.parse_args(argv)
    # bt.Config would load the file again with its own loader (flat keys only): it gets the flags
    # without --config, the file's settings being the parser's defaults by now. Never an empty list:
    # that falls back to sys.argv; --netuid is repeated with the value already in force.
    args = _without_config(argv) or ["--netuid", str(given.netuid)]
    previous = os.environ.get(PARSE_CLI_ENV)
    os.environ[PARSE_CLI_ENV] = "false"
    try:
        config = bt.Config(parser, args=args)
    finally:
        if previous is None:
            del os.environ[PARSE_CLI_ENV]
        else:
            os.environ[PARSE_CLI_ENV] = previous
    config.config = given.config
    return config


def _without_config(argv: list[str]) -> list[str]:
    kept: list[str] = []
    skip = False
    for arg in argv:
        if skip:
            skip = False
        elif arg == "--config":
            skip = True
        elif not arg.startswith("--config="):
            kept.append(arg)
    return kept
