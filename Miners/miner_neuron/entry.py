"""`neurons/miner.py`'s body: parse flags, set up logging, run the miner, exit 0 on SIGINT/SIGTERM.

Bad flags or an unusable setup end in one line and a non-zero exit code, never a traceback.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import bittensor as bt
import miner_paths
from bittensor.utils import networking

from miner_neuron.axon_server import AxonStartError
from miner_neuron.chain import ChainError
from miner_neuron.config import build_config
from miner_neuron.config_checks import check_config
from miner_neuron.content_miner import ContentMiner

LOOPBACK = "127.0.0.1"


def configure_logging(config: Any, data_dir: Path) -> None:
    """bt.logging at info unless told otherwise: stage lines are info, hidden at bittensor's default."""
    if config.logging.record_log and not config.logging.logging_dir:
        config.logging.logging_dir = str(data_dir / miner_paths.LOGS)
    if config.logging.logging_dir:
        Path(config.logging.logging_dir).expanduser().mkdir(parents=True, exist_ok=True)
    bt.logging.set_config(config.logging)
    if not (config.logging.debug or config.logging.trace or config.logging.info):
        bt.logging.set_info(True)


def main(argv: list[str] | None = None) -> int:
    args = list(sys.argv[1:] if argv is None else argv)
    config = build_config(args)
    problem = check_config(config)
    if problem:
        print(f"neurons/miner.py: error: {problem}", file=sys.stderr)
        return 2
    data_dir = miner_paths.data_dir(config.data_dir)
    config.data_dir = str(data_dir)
    miner_paths.keep_tool_files_inside(data_dir)  # the modules inherit it
    if config.mock:
        # Offline: the public-IP lookup of Axon/Dendrite would hang on the network (BITTENSOR.md).
        networking.get_external_ip = lambda: LOOPBACK
    try:
        data_dir.mkdir(parents=True, exist_ok=True)
        configure_logging(config, data_dir)
    except OSError as err:
        print(f"neurons/miner.py: error: cannot use data directory {data_dir}: {err.strerror or err}", file=sys.stderr)
        return 2
    miner = ContentMiner(config)
    miner.install_signal_handlers()
    try:
        with miner:
            miner.run_until_stopped()
    except (ChainError, AxonStartError) as err:
        bt.logging.error(f"Cannot start: {err}")
        return 1
    return 0
