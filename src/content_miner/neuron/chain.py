"""The miner's view of the chain: its wallet, the subtensor, and the metagraph, live or offline."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import bittensor as bt

from content_miner.common.layout import DataLayout
from content_miner.neuron.access_policy import Neuron, snapshot_from_metagraph
from content_miner.neuron.mock_chain import build_mock_world


class ChainError(Exception):
    """The miner cannot take part on the chain; str() is the one-line reason."""


@dataclass
class ChainContext:
    subtensor: Any
    wallet: bt.Wallet
    netuid: int
    mock: bool
    validator_wallet: bt.Wallet | None = None  # --mock only: the local validator's wallet

    def neurons(self) -> dict[str, Neuron]:
        return snapshot_from_metagraph(self.subtensor.metagraph(self.netuid))

    def serve(self, axon: bt.Axon) -> str | None:
        """Announce the axon on the chain; a one-line reason if that failed."""
        try:
            response = self.subtensor.serve_axon(netuid=self.netuid, axon=axon)
        except Exception as err:
            return f"{type(err).__name__}: {err}"
        if getattr(response, "success", True) is False:
            return str(getattr(response, "message", "") or "serve_axon failed")
        return None


def connect(config: Any, paths: DataLayout) -> ChainContext:
    if config.mock:
        world = build_mock_world(config.netuid, paths.wallets)
        return ChainContext(world.subtensor, world.miner, world.netuid, True, world.validator)
    try:
        wallet = bt.Wallet(config=config)
        hotkey = wallet.hotkey.ss58_address
    except Exception as err:
        raise ChainError(f"cannot load wallet {config.wallet.name}/{config.wallet.hotkey} from "
                         f"{config.wallet.path}: {_one_line(err)}") from None
    try:
        subtensor = bt.Subtensor(config=config)
    except Exception as err:
        raise ChainError(f"cannot connect to subtensor {config.subtensor.network} "
                         f"({config.subtensor.chain_endpoint}): {_one_line(err)}") from None
    try:
        registered = subtensor.is_hotkey_registered(hotkey, netuid=config.netuid)
    except Exception as err:
        raise ChainError(f"cannot check registration on netuid {config.netuid}: {_one_line(err)}") from None
    if not registered:
        raise ChainError(f"hotkey {hotkey} is not registered on netuid {config.netuid} "
                         "(register it with `btcli subnets register`)")
    return ChainContext(subtensor, wallet, config.netuid, False)


def _one_line(err: BaseException) -> str:
    text = " ".join(str(err).split())
    return text[:300] or type(err).__name__
