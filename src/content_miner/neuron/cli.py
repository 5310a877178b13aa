"""The miner's entry point: parse flags, set up logging, run the miner, exit 0 on SIGINT/SIGTERM.

Bad flags or an unusable setup end in one line and a non-zero exit code, never a traceback. The
signal handlers go in first: bittensor takes seconds to import, and a stop during that time (pm2
restarting the miner at once) must not end in a KeyboardInterrupt traceback.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any

from content_miner.common import layout
from content_miner.common.shutdown import ShutdownSignals, StopDuringStartUp, starting_up

if TYPE_CHECKING:
    from content_miner.tracker.definitions import StageDefinitions
from content_miner.neuron.log_format import bound_console_lines

LOOPBACK = "127.0.0.1"
TRACKER_LOGGER = "content_miner.tracker"
DASHBOARD_LOGGER = "content_miner.dashboard"


def configure_logging(config: Any, data_dir: Path) -> None:
    """bt.logging at info unless told otherwise: stage lines are info, hidden at bittensor's default."""
    import bittensor as bt

    if config.logging.record_log and not config.logging.logging_dir:
        config.logging.logging_dir = str(data_dir / layout.LOGS)
    if config.logging.logging_dir:
        Path(config.logging.logging_dir).expanduser().mkdir(parents=True, exist_ok=True)
    bt.logging.set_config(config.logging)
    bound_console_lines(bt.logging, plain=not sys.stdout.isatty())
    if not (config.logging.debug or config.logging.trace or config.logging.info):
        bt.logging.set_info(True)
    # The stage tracker's repair warnings (a damaged stage log set aside, events kept for later) are
    # for the operator: through bittensor's handlers, beside the stage lines. bittensor strips the
    # handlers of every other library's logger.
    bt.logging.register_primary_logger(TRACKER_LOGGER)
    bt.logging.register_primary_logger(DASHBOARD_LOGGER)  # its "cannot read ..." warnings, once per part


def main(argv: list[str] | None = None, *, signals: ShutdownSignals | None = None) -> int:
    """`signals`: handlers a wrapper installed even earlier (neurons/miner.py does, first thing)."""
    signals = signals or ShutdownSignals("miner").install()
    # bittensor creates ~/.bittensor/{wallets,miners} at import unless READ_ONLY=1; the miner writes
    # only in its data directory (wallets are read from --wallet.path as usual).
    os.environ.setdefault("READ_ONLY", "1")
    os.environ.setdefault("PYTHONDONTWRITEBYTECODE", "1")  # nor do the modules it starts write in the tree
    try:
        with starting_up(signals):  # a stop now ends the start at once, not after seconds of imports
            prepared = _prepare(list(sys.argv[1:] if argv is None else argv))
    except StopDuringStartUp:
        print(f"miner: received {signals.first} during start-up; stopped before starting", file=sys.stderr,
              flush=True)
        return 0
    if isinstance(prepared, int):
        return prepared
    config, paths, definitions = prepared
    import bittensor as bt

    from content_miner.dashboard import DashboardStartError
    from content_miner.neuron.axon_server import AxonStartError
    from content_miner.neuron.chain import ChainError
    from content_miner.neuron.content_miner import ContentMiner
    from content_miner.neuron.metrics_server import MetricsStartError

    miner = ContentMiner(config, paths, definitions=definitions, stop_requested=signals.requested)
    signals.then(miner.on_signal)
    if signals.first is not None:  # it came between the start-up and `then`
        miner.stop_signal = signals.first
        miner.stop_requested.set()
    try:
        with miner:
            miner.run_until_stopped()
    except (ChainError, AxonStartError, MetricsStartError, DashboardStartError) as err:
        bt.logging.error(f"Cannot start: {err}")
        return 1
    return 0


def _prepare(args: list[str]) -> tuple[Any, layout.DataLayout, StageDefinitions] | int:
    """The configuration, checked, and the logging set up; an exit code if they cannot be."""
    from content_miner.dashboard.access import TOKEN_ENV as DASHBOARD_TOKEN_ENV
    from content_miner.neuron.config import build_config
    from content_miner.neuron.config_checks import check_config
    from content_miner.tracker.definitions import DefinitionsError, load_definitions

    config = build_config(args)
    if not config.dashboard.token:  # the flag first, else the environment (kept out of `ps` listings)
        config.dashboard.token = os.environ.get(DASHBOARD_TOKEN_ENV) or None
    problem = check_config(config)
    if problem:
        print(f"neurons/miner.py: error: {problem}", file=sys.stderr)
        return 2
    try:
        definitions = load_definitions(config.stages.file)
    except DefinitionsError as err:
        print(f"neurons/miner.py: error: {err}", file=sys.stderr)
        return 2
    paths = layout.DataLayout.from_settings(config.data_dir)
    config.data_dir = str(paths.root)
    layout.keep_tool_files_inside(paths.root)  # the modules inherit it
    from bittensor.utils import networking

    if config.mock:
        # Offline: the public-IP lookup of Axon/Dendrite would hang on the network (BITTENSOR.md).
        networking.get_external_ip = lambda: LOOPBACK
    try:
        paths.root.mkdir(parents=True, exist_ok=True)
        configure_logging(config, paths.root)
    except OSError as err:
        print(f"neurons/miner.py: error: cannot use data directory {paths.root}: {err.strerror or err}",
              file=sys.stderr)
        return 2
    return config, paths, definitions
