"""Signature check and replay protection for the axon: a cache of the nonces seen within the window.

bittensor's `default_verify` wants the nonces of each (hotkey, dendrite uuid) strictly increasing. A
validator that sends requests in parallel over several connections has no control over the order in
which they arrive, so every request overtaken by a newer one was refused with a false 401 ("Nonce is
too old"), and its answer lost. Here a request is accepted when its signature is valid, its nonce (the
dendrite's `time.time_ns()` when it signed) is within the window, and that (hotkey, uuid, nonce) was not
seen before: parallel requests are all served, a replayed one is still refused.

The window follows bittensor's (4 s + the request's timeout) but is capped at `window_s`: the timeout
header is not signed, so a replay must not be able to stretch it. A nonce is remembered until it
leaves the window (nonce + window_s); nonces further ahead of the miner's clock than the window are
refused, so nothing is remembered longer than twice the window. The cache is bounded: when full, the
oldest nonces are forgotten and every nonce up to the newest forgotten one is refused from then on
(a refused honest request, never an accepted replay).
"""

from __future__ import annotations

import heapq
import math
import sys
import threading
import time
from collections.abc import Callable
from typing import Any

from bittensor_wallet import Keypair

NANOS = 1_000_000_000
BITTENSOR_DELTA_NS = 4 * NANOS  # bittensor.utils.axon_utils.ALLOWED_DELTA: clock skew allowed besides the timeout
NONCE_FORMAT_SINCE = 7_002_000  # bittensor 7.2.0: nonces are time.time_ns(); older dendrites sent counters
MAX_SEEN = 100_000  # about 20 MB at most; at 200 requests/s a 60 s window holds 12,000 (24,000 with lead)
MAX_KEYPAIRS = 1_000
UNDER_LOAD = "Nonce is too old: the miner is under load, send a new request"


class RequestRefused(Exception):
    """Why a request is not accepted; `kind` is the reason without the specifics (for counting)."""

    def __init__(self, kind: str, message: str | None = None) -> None:
        super().__init__(message or kind)
        self.kind = kind


class SeenNonces:
    """The (hotkey, uuid, nonce) of accepted requests while their nonces are within the window."""

    def __init__(self, window_s: float, *, max_entries: int = MAX_SEEN,
                 clock_ns: Callable[[], int] = time.time_ns, not_before_ns: int = 0) -> None:
        """`not_before_ns`: nonces up to it are refused (the miner's start: what an earlier run of the
        miner accepted is not in this cache, so a replay of it must not pass either)."""
        self.not_before_ns = not_before_ns
        self.window_ns = int(window_s * NANOS)
        self.max_entries = max_entries
        self.clock_ns = clock_ns
        self._seen: set[tuple[str, str, int]] = set()
        self._by_nonce: list[tuple[int, tuple[str, str, int]]] = []  # heap: the oldest nonce first
        self._floor = 0  # nonces up to here were forgotten early (cache full): refused
        self._lock = threading.Lock()

    def __len__(self) -> int:
        return len(self._seen)

    def check(self, hotkey: str, uuid: str, nonce: int, timeout_s: float | None) -> None:
        """Raises RequestRefused unless the nonce is fresh and unseen (without remembering it)."""
        now = self.clock_ns()
        stretch = timeout_s if timeout_s is not None and math.isfinite(timeout_s) and timeout_s > 0 else 0.0
        max_age_ns = min(BITTENSOR_DELTA_NS + int(min(stretch, self.window_ns / NANOS) * NANOS), self.window_ns)
        if nonce <= now - max_age_ns:
            raise RequestRefused("nonce is too old", f"Nonce is too old: the request was {(now - nonce) / NANOS:.1f} s "
                                                     f"old, at most {max_age_ns / NANOS:.1f} s are accepted")
        if nonce <= self.not_before_ns:
            raise RequestRefused("nonce predates the miner's start",
                                 "Nonce predates the miner's start: sign the request again")
        if nonce > now + self.window_ns:
            raise RequestRefused("nonce is in the future",
                                 f"Nonce is {(nonce - now) / NANOS:.1f} s ahead of the miner's clock, at most "
                                 f"{self.window_ns / NANOS:g} s are accepted: check the validator's clock")
        with self._lock:
            self._expire(now)
            if nonce <= self._floor:
                raise RequestRefused("nonce is too old", UNDER_LOAD)
            if (hotkey, uuid, nonce) in self._seen:
                raise RequestRefused("nonce already used", "Nonce already used: the request is a replay")

    def add(self, hotkey: str, uuid: str, nonce: int) -> None:
        """Remember an accepted request; raises RequestRefused if it was seen meanwhile."""
        key = (sys.intern(hotkey), sys.intern(uuid), nonce)  # one copy of each validator's strings
        with self._lock:
            if key in self._seen:
                raise RequestRefused("nonce already used", "Nonce already used: the request is a replay")
            while len(self._seen) >= self.max_entries:
                oldest, old_key = heapq.heappop(self._by_nonce)
                self._seen.discard(old_key)
                self._floor = max(self._floor, oldest)
            if nonce <= self._floor:
                raise RequestRefused("nonce is too old", UNDER_LOAD)
            self._seen.add(key)
            heapq.heappush(self._by_nonce, (nonce, key))

    def _expire(self, now: int) -> None:
        limit = now - self.window_ns  # no nonce at or below this can pass `check` any more
        while self._by_nonce and self._by_nonce[0][0] <= limit:
            _, key = heapq.heappop(self._by_nonce)
            self._seen.discard(key)


class RequestVerifier:
    """The axon's verify function: the dendrite's signature over nonce, both hotkeys, uuid and body hash,
    then the nonce against the seen-nonce cache."""

    def __init__(self, axon_hotkey: str, seen: SeenNonces) -> None:
        self.axon_hotkey = axon_hotkey
        self.seen = seen
        self._keypairs: dict[str, Keypair] = {}

    def verify(self, synapse: Any) -> None:
        dendrite = synapse.dendrite
        if dendrite is None or not dendrite.hotkey:
            raise RequestRefused("no hotkey in the request")
        if dendrite.nonce is None:
            raise RequestRefused("missing nonce")
        if not dendrite.signature:
            raise RequestRefused("missing signature")
        if dendrite.version is None or dendrite.version < NONCE_FORMAT_SINCE:
            raise RequestRefused("old nonce format", f"dendrite version {dendrite.version}: nonces are checked as "
                                                     "bittensor >= 7.2.0 makes them")
        hotkey, uuid, nonce = str(dendrite.hotkey), str(dendrite.uuid), int(dendrite.nonce)
        self.seen.check(hotkey, uuid, nonce, synapse.timeout)  # cheap checks before the signature
        message = f"{nonce}.{hotkey}.{self.axon_hotkey}.{dendrite.uuid}.{synapse.computed_body_hash}"
        try:
            valid = self._keypair(hotkey).verify(message, dendrite.signature)
        except Exception:  # a hotkey that is no ss58 address, a signature that is no hex
            valid = False
        if not valid:
            raise RequestRefused("bad signature", "Signature mismatch")
        # Only now: a forged request must not be able to mark an honest nonce as used.
        self.seen.add(hotkey, uuid, nonce)

    def _keypair(self, hotkey: str) -> Keypair:
        keypair = self._keypairs.get(hotkey)
        if keypair is None:
            if len(self._keypairs) >= MAX_KEYPAIRS:
                self._keypairs.clear()
            keypair = self._keypairs[hotkey] = Keypair(ss58_address=hotkey)
        return keypair
