"""A client for the miner's synapses, as a validator would call them: used by the operator's
self-test (`scripts/query_miner.py`), the benchmark and the tests."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import TypeVar, cast

import bittensor as bt
from bittensor.utils import networking

from content_miner.common.layout import DataLayout
from content_miner.neuron.mock_chain import HOTKEY, MINER_WALLET, VALIDATOR_WALLET
from content_miner_protocol import ContentPlanSynapse, RecommendationImageSynapse, StageStatusSynapse

SynapseT = TypeVar("SynapseT", bound=bt.Synapse)


@dataclass(frozen=True)
class MockKeys:
    validator: bt.Wallet
    miner_hotkey: str
    miner_coldkey: str


def mock_keys(data_dir: Path | str) -> MockKeys:
    """The wallets a `--mock` miner created in its data directory (read, never created here)."""
    wallets = DataLayout(Path(data_dir)).wallets
    if not (wallets / VALIDATOR_WALLET).is_dir():
        raise FileNotFoundError(f"no mock wallets in {wallets} (start the miner with --mock --data-dir {data_dir})")
    validator = bt.Wallet(name=VALIDATOR_WALLET, hotkey=HOTKEY, path=str(wallets))
    miner = bt.Wallet(name=MINER_WALLET, hotkey=HOTKEY, path=str(wallets))
    return MockKeys(validator, miner.hotkey.ss58_address, miner.coldkeypub.ss58_address)


def axon_info(hotkey: str, coldkey: str, ip: str, port: int) -> bt.AxonInfo:
    return bt.AxonInfo(version=0, ip=ip, port=port, ip_type=4, hotkey=hotkey, coldkey=coldkey)


class MinerClient:
    def __init__(self, wallet: bt.Wallet, target: bt.AxonInfo, *, offline: bool = True) -> None:
        if offline:
            networking.get_external_ip = lambda: "127.0.0.1"  # no public-IP lookup (BITTENSOR.md)
        self.dendrite = bt.Dendrite(wallet=wallet)
        self.target = target

    async def plan(self, username: str, *, platform: str = "twitter", force_fresh: bool = False,
                   max_posts: int | None = None, timeout: float = 15.0) -> ContentPlanSynapse:
        synapse = ContentPlanSynapse(platform=platform, username=username, force_fresh=force_fresh, max_posts=max_posts)
        return await self._call(synapse, timeout)

    async def status(self, username: str = "", events_limit: int = 20, timeout: float = 10.0, *, limit: int = 50,
                     cursor: str = "") -> StageStatusSynapse:
        synapse = StageStatusSynapse(username=username, events_limit=events_limit, limit=limit, cursor=cursor)
        return await self._call(synapse, timeout)

    async def image(self, username: str, recommendation_id: str, *, platform: str = "twitter",
                    timeout: float = 15.0) -> RecommendationImageSynapse:
        synapse = RecommendationImageSynapse(platform=platform, username=username, recommendation_id=recommendation_id)
        return await self._call(synapse, timeout)

    def signed_request(self, synapse: bt.Synapse, timeout: float = 12.0) -> tuple[str, dict[str, str], bytes]:
        """The path, headers and body the dendrite would send for `synapse` (a fresh nonce, signed), for
        sending over raw HTTP: out of order, twice, or with a changed body."""
        prepared = self.dendrite.preprocess_synapse_for_request(self.target, synapse, timeout)
        headers = {**prepared.to_headers(), "content-type": "application/json"}
        return f"/{synapse.__class__.__name__}", headers, json.dumps(prepared.model_dump()).encode()

    async def _call(self, synapse: SynapseT, timeout: float) -> SynapseT:
        answer = await self.dendrite.call(self.target, synapse, timeout=timeout, deserialize=False)
        # Dendrite.call is annotated `-> Synapse`; without deserializing it returns the very
        # synapse it was given, filled in with the answer (or the error).
        return cast(SynapseT, answer)

    async def close(self) -> None:
        await self.dendrite.aclose_session()
