"""The miner's command line: bittensor's standard flags plus the miner's own, as a bt.Config.

Built the classic way (argparse, then each bittensor class's `add_args`, then `bt.Config`).
`bt.Config` ignores the command line unless BT_NO_PARSE_CLI_ARGS is false (BITTENSOR.md), so it
is set here, and the arguments are passed explicitly (an empty list would fall back to sys.argv).
"""

from __future__ import annotations

import argparse
import os
import typing
from typing import Any

import bittensor as bt
import miner_paths

DEFAULT_MODULE2_PORT = 8094


def _bool(text: str) -> bool:
    value = text.strip().lower()
    if value in ("1", "true", "yes", "on"):
        return True
    if value in ("0", "false", "no", "off"):
        return False
    raise argparse.ArgumentTypeError(f"expected true or false, got {text!r}")


class OneLineParser(argparse.ArgumentParser):
    """argparse that reports a bad flag in one line (the usage block is for --help)."""

    def error(self, message: str) -> typing.NoReturn:
        self.exit(2, f"{self.prog}: error: {message} (see --help)\n")


def build_parser() -> argparse.ArgumentParser:
    parser = OneLineParser(prog="neurons/miner.py", description="Content-recommendation miner")
    parser.add_argument("--netuid", type=int, default=1, help="subnet uid (default: 1)")
    parser.add_argument("--data-dir", dest="data_dir", default=None,
                        help=f"where everything is written (default: ${miner_paths.DATA_DIR_ENV}, else ~/.content-miner)")
    parser.add_argument("--mock", action="store_true", help="run fully offline: mock chain, wallets in the data dir")
    parser.add_argument("--no_sample", "--no-sample", dest="no_sample", action="store_true",
                        help="with --mock: do not queue the packaged sample account at start-up")
    parser.add_argument("--blacklist.force_validator_permit", dest="blacklist.force_validator_permit", type=_bool,
                        nargs="?", const=True, default=True, help="only validators may call (default: true)")
    parser.add_argument("--blacklist.allow_non_registered", dest="blacklist.allow_non_registered", type=_bool,
                        nargs="?", const=True, default=False, help="let unregistered keys call (default: false)")
    parser.add_argument("--blacklist.requests_per_minute", dest="blacklist.requests_per_minute", type=float,
                        default=600.0, help="per-hotkey request rate (default: 600)")
    parser.add_argument("--blacklist.burst", dest="blacklist.burst", type=int, default=200,
                        help="per-hotkey burst above the rate (default: 200)")
    parser.add_argument("--axon.max_body_bytes", dest="axon.max_body_bytes", type=int, default=64 * 1024,
                        help="larger request bodies are refused with 413 (default: 65536)")
    parser.add_argument("--status.interval", dest="status.interval", type=float, default=30.0,
                        help="seconds between status lines (default: 30)")
    parser.add_argument("--stages.poll_interval", dest="stages.poll_interval", type=float, default=0.5,
                        help="how often stage events are turned into log lines (default: 0.5 s)")
    parser.add_argument("--metagraph.sync_interval", dest="metagraph.sync_interval", type=float, default=300.0,
                        help="seconds between metagraph syncs (default: 300)")
    parser.add_argument("--module1.script", dest="module1.script", default=None,
                        help="Module 1's program (default: Miners/main.py beside this package)")
    parser.add_argument("--module1.wait_seconds", dest="module1.wait_seconds", type=float, default=300.0,
                        help="Module 1: how often it reports that it is waiting (default: 300)")
    parser.add_argument("--module1.poll_seconds", dest="module1.poll_seconds", type=float, default=1.0,
                        help="Module 1: how often it looks at the inbox (default: 1)")
    parser.add_argument("--module2.script", dest="module2.script", default=None,
                        help="Module 2's program (default: Miners/Module2/main.py)")
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
                        help="seconds a module gets to stop before it is killed (default: 5)")
    bt.Wallet.add_args(parser)
    bt.Subtensor.add_args(parser)
    bt.Axon.add_args(parser)
    bt.logging.add_args(parser)
    return parser


def build_config(argv: list[str]) -> Any:
    """The bt.Config for `argv` (argparse exits 2 with a usage line on bad flags)."""
    os.environ["BT_NO_PARSE_CLI_ARGS"] = "false"
    parser = build_parser()
    parser.parse_args(argv)  # bad flags: argparse's one-line error and exit 2, before bittensor sees them
    return bt.Config(parser, args=argv if argv else ["--netuid", "1"])


def check_config(config: Any) -> str | None:
    """A one-line reason the configuration cannot work, or None."""
    checks = [
        (config.netuid >= 0, "--netuid must be >= 0"),
        (config.status.interval > 0, "--status.interval must be > 0"),
        (config.stages.poll_interval > 0, "--stages.poll_interval must be > 0"),
        (0 < config.module2.port < 65536, "--module2.port must be 1-65535"),
        (config.axon.max_body_bytes >= 1024, "--axon.max_body_bytes must be at least 1024"),
        (config.blacklist.requests_per_minute > 0, "--blacklist.requests_per_minute must be > 0"),
        (config.blacklist.burst >= 1, "--blacklist.burst must be >= 1"),
        (config.module1.wait_seconds > 0 and config.module1.poll_seconds > 0, "--module1 intervals must be > 0"),
        (config.supervisor.backoff_start >= 0, "--supervisor.backoff_start must be >= 0"),
        (config.supervisor.backoff_factor >= 1, "--supervisor.backoff_factor must be >= 1"),
        (config.supervisor.backoff_max >= config.supervisor.backoff_start,
         "--supervisor.backoff_max must be >= --supervisor.backoff_start"),
        (config.supervisor.max_fast_failures >= 1, "--supervisor.max_fast_failures must be >= 1"),
        (config.supervisor.stop_timeout > 0, "--supervisor.stop_timeout must be > 0"),
    ]
    for ok, reason in checks:
        if not ok:
            return reason
    return None
