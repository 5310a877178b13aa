"""An offline chain for `--mock`: bittensor 10.5's MockSubtensor, patched where it drifted.

10.5's `MockSubtensor` says every hotkey is registered, cannot build a metagraph (`NeuronInfo` has
no `rank`), returns no stake and stores nothing on `serve_axon` (BITTENSOR.md, "Offline mock
chain"). `OfflineSubtensor` overrides exactly those calls so the real `bt.Metagraph` sync, the
registration check and `axon.serve` work against the in-process mock state.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any, cast

import bittensor as bt
from bittensor.core.chain_data import NeuronInfoLite
from bittensor.core.types import ExtrinsicResponse
from bittensor.utils import networking

MOCK_NETWORK = "mock"
MINER_WALLET = "miner"
VALIDATOR_WALLET = "validator"
HOTKEY = "default"
VALIDATOR_STAKE_TAO = 10_000.0


class OfflineSubtensor(bt.MockSubtensor):
    """A MockSubtensor whose registration, metagraph, stake and axon calls tell the truth."""

    def _subnet(self) -> dict[str, Any]:
        # MockSubtensorState, a TypedDict, lists only some of the keys the mock stores ("Uids",
        # "Axons" and "ValidatorPermit" are missing): read it as the plain dict it is.
        return cast(dict[str, Any], self.chain_state["SubtensorModule"])

    def subnet_exists(self, netuid: int, block: int | None = None) -> bool:
        return netuid in self._subnet()["NetworksAdded"]

    def get_uid_for_hotkey_on_subnet(self, hotkey_ss58: str, netuid: int, block: int | None = None) -> int | None:
        uids = self._subnet()["Uids"].get(netuid, {})
        if hotkey_ss58 not in uids:
            return None
        return self._get_most_recent_storage(uids[hotkey_ss58], block)

    def is_hotkey_registered(self, hotkey_ss58: str, netuid: int | None = None, block: int | None = None) -> bool:
        if netuid is None:
            return any(
                self.get_uid_for_hotkey_on_subnet(hotkey_ss58, n) is not None for n in self._subnet()["NetworksAdded"]
            )
        return self.get_uid_for_hotkey_on_subnet(hotkey_ss58, netuid, block) is not None

    def is_hotkey_registered_on_subnet(self, hotkey_ss58: str, netuid: int, block: int | None = None) -> bool:
        return self.get_uid_for_hotkey_on_subnet(hotkey_ss58, netuid, block) is not None

    def neurons_lite(self, netuid: int, block: int | None = None) -> list[NeuronInfoLite]:
        return [_lite(neuron) for neuron in self.neurons(netuid, block)]

    def get_metagraph_info(self, *args: Any, **kwargs: Any) -> None:
        return None

    def get_mechanism_count(self, *args: Any, **kwargs: Any) -> int:
        return 1

    def get_mechanism_emission_split(self, *args: Any, **kwargs: Any) -> None:
        return None

    def query_runtime_api(self, runtime_api: str, method: str, params: Any = None, block: int | None = None) -> Any:
        if method != "get_subnet_state":
            return None
        netuid = int(params[0])
        neurons = self.neurons(netuid, block)
        count = len(neurons)
        stakes = [int(neuron.total_stake.rao) for neuron in neurons]
        return {
            "netuid": netuid,
            "hotkeys": [n.hotkey for n in neurons],
            "coldkeys": [n.coldkey for n in neurons],
            "active": [bool(n.active) for n in neurons],
            "validator_permit": [bool(n.validator_permit) for n in neurons],
            "pruning_score": [0] * count, "last_update": [n.last_update for n in neurons],
            "emission": [0] * count, "dividends": [0] * count, "incentives": [0] * count,
            "consensus": [0] * count, "trust": [0] * count, "rank": [0] * count,
            "block_at_registration": [0] * count, "alpha_stake": stakes, "tao_stake": [0] * count,
            "total_stake": stakes, "emission_history": [],
        }

    def serve_axon(self, netuid: int, axon: bt.Axon, *args: Any, **kwargs: Any) -> ExtrinsicResponse:
        info = axon.info()
        hotkey = axon.wallet.hotkey.ss58_address
        self._subnet()["Axons"].setdefault(netuid, {})[hotkey] = {self.block_number: {
            "version": info.version, "ip": networking.ip_to_int(info.ip), "port": info.port,
            "ip_type": info.ip_type, "protocol": info.protocol,
            "placeholder1": 0, "placeholder2": 0,
        }}
        return ExtrinsicResponse(True, "served on the offline chain")

    def grant_validator_permit(self, netuid: int, uid: int) -> None:
        """There is no API for permits: write the storage the metagraph reads."""
        self._subnet()["ValidatorPermit"][netuid][uid] = {self.block_number: True}


def _lite(neuron: Any) -> NeuronInfoLite:
    return NeuronInfoLite(
        hotkey=neuron.hotkey, coldkey=neuron.coldkey, uid=neuron.uid, netuid=neuron.netuid,
        active=neuron.active, stake=neuron.stake, stake_dict=neuron.stake_dict,
        total_stake=neuron.total_stake, emission=neuron.emission, incentive=neuron.incentive,
        consensus=neuron.consensus, validator_trust=neuron.validator_trust, dividends=neuron.dividends,
        last_update=neuron.last_update, validator_permit=neuron.validator_permit,
        prometheus_info=neuron.prometheus_info, axon_info=neuron.axon_info,
    )


@dataclass(frozen=True)
class MockWorld:
    subtensor: OfflineSubtensor
    miner: bt.Wallet
    validator: bt.Wallet
    netuid: int


def passwordless_wallet(name: str, path: Path) -> bt.Wallet:
    """A wallet under `path`, created without passwords if missing (files mode 0600)."""
    wallet = bt.Wallet(name=name, hotkey=HOTKEY, path=str(path))
    # Only when missing: for existing keys it prints "ColdKey ... already exists" into the miner's log.
    if not (wallet.coldkey_file.exists_on_device() and wallet.hotkey_file.exists_on_device()):
        wallet.create_if_non_existent(coldkey_use_password=False, hotkey_use_password=False, suppress=True)
    return wallet


def build_mock_world(netuid: int, wallets_dir: Path, miner_wallet: str = MINER_WALLET) -> MockWorld:
    """A fresh offline subnet with the miner registered and a staked validator with a permit."""
    wallets_dir.mkdir(parents=True, exist_ok=True)
    wallets_dir.chmod(0o700)
    OfflineSubtensor.reset()
    subtensor = OfflineSubtensor()
    subtensor.create_subnet(netuid)
    miner = passwordless_wallet(miner_wallet, wallets_dir)
    validator = passwordless_wallet(VALIDATOR_WALLET, wallets_dir)
    subtensor.force_register_neuron(netuid, hotkey_ss58=miner.hotkey.ss58_address,
                                    coldkey_ss58=miner.coldkeypub.ss58_address, stake=0.0, balance=1.0)
    uid = subtensor.force_register_neuron(netuid, hotkey_ss58=validator.hotkey.ss58_address,
                                          coldkey_ss58=validator.coldkeypub.ss58_address,
                                          stake=VALIDATOR_STAKE_TAO, balance=1.0)
    subtensor.grant_validator_permit(netuid, uid)
    return MockWorld(subtensor, miner, validator, netuid)
