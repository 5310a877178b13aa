"""Who may call the axon: registered keys only, validators only (unless allowed), at a bounded rate.

The metagraph is read into an immutable snapshot (hotkey -> uid, permit, stake) that a background
sync replaces whole, so the blacklist is one dict lookup and never indexes a list with an unknown
key (the template bug that turns an unregistered caller's 403 into a 500).
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class Neuron:
    uid: int
    validator_permit: bool
    stake: float


@dataclass(frozen=True)
class AccessSettings:
    force_validator_permit: bool = True
    allow_non_registered: bool = False
    requests_per_minute: float = 600.0  # per hotkey, refilled continuously
    burst: int = 200


def snapshot_from_metagraph(metagraph: Any) -> dict[str, Neuron]:
    stakes = [float(value) for value in getattr(metagraph, "S", [])]
    permits = [bool(value) for value in getattr(metagraph, "validator_permit", [])]
    result: dict[str, Neuron] = {}
    for index, hotkey in enumerate(metagraph.hotkeys):
        result[hotkey] = Neuron(
            uid=int(metagraph.uids[index]),
            validator_permit=bool(permits[index]) if index < len(permits) else False,
            stake=float(stakes[index]) if index < len(stakes) else 0.0,
        )
    return result


class AccessPolicy:
    def __init__(self, settings: AccessSettings, neurons: dict[str, Neuron]) -> None:
        self.settings = settings
        self._neurons = neurons

    def replace_neurons(self, neurons: dict[str, Neuron]) -> None:
        self._neurons = neurons  # one reference swap: readers see the old or the new snapshot

    def neuron(self, hotkey: str | None) -> Neuron | None:
        return self._neurons.get(hotkey or "")

    def refusal(self, hotkey: str | None) -> str | None:
        """Why this caller is refused, or None if it may call. One of a few fixed texts: the hotkey is not in
        it (it is the caller's to choose, and the reason is a key of the refusal counts)."""
        if not hotkey:
            return "no hotkey in the request"
        neuron = self._neurons.get(hotkey)
        if neuron is None:
            return None if self.settings.allow_non_registered else "hotkey is not registered on the subnet"
        if self.settings.force_validator_permit and not neuron.validator_permit:
            return "hotkey has no validator permit"
        return None

    def priority(self, hotkey: str | None) -> float:
        neuron = self._neurons.get(hotkey or "")
        return neuron.stake if neuron else 0.0


class RateLimiter:
    """A token bucket per key. Applied after the signature check, so a forged header cannot spend a
    validator's budget."""

    def __init__(self, per_minute: float, burst: int, clock: Callable[[], float] = time.monotonic) -> None:
        self.rate = per_minute / 60.0
        self.burst = float(max(1, burst))
        self.clock = clock
        self._buckets: dict[str, tuple[float, float]] = {}  # key -> (tokens, last refill)
        self._lock = threading.Lock()

    def allow(self, key: str) -> bool:
        now = self.clock()
        with self._lock:
            tokens, last = self._buckets.get(key, (self.burst, now))
            tokens = min(self.burst, tokens + (now - last) * self.rate)
            allowed = tokens >= 1.0
            self._buckets[key] = (tokens - 1.0 if allowed else tokens, now)
            if len(self._buckets) > 10_000:  # forget idle keys rather than grow without bound
                full = [k for k, (t, _) in self._buckets.items() if t >= self.burst - 1]
                for k in full[:5_000]:
                    del self._buckets[k]
            return allowed
