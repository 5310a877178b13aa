"""Client addresses that keep sending request heads over the limit: their connections closed at once, for a while.

Every head over the limit costs the miner a connection, a 64 KiB read, the parsing of it and an answer. An
address that sent `strikes` of them within any `window_s` seconds (a sliding window) is cooled down: for
`cooldown_s` seconds its new connections are turned away as soon as they are accepted, before anything is
read. Only that address: a validator that sent no such heads is never refused here. The cool-down ends
`cooldown_s` after it began (the strikes during it do not extend it); the strikes after it count afresh.

The table is bounded: at most `max_addresses` addresses are tracked. When it is full, a new address takes the
place of the one that struck least recently among those not cooling down (a bounded search); when every one
is cooling down, the new address is not tracked (not cooled down, never refused by mistake). An IPv6 address
is counted by its /64 network (what one host is given), an IPv4 client of an IPv6 socket by its IPv4 address.
"""

from __future__ import annotations

import ipaddress
import time
from collections import OrderedDict, deque
from collections.abc import Callable
from dataclasses import dataclass, field

MAX_ADDRESSES = 10_000
EVICTION_SCAN = 64  # entries looked at, least recently struck first, for one to give up its place


@dataclass
class _Entry:
    times: deque[float] = field(default_factory=deque)  # the latest strikes, at most `strikes` of them
    cool_until: float = 0.0  # while the clock is below it, the address is cooled down


class HeadStrikes:
    def __init__(self, strikes: int, window_s: float, cooldown_s: float, *, max_addresses: int = MAX_ADDRESSES,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.strikes = strikes
        self.window_s = window_s
        self.cooldown_s = cooldown_s
        self.max_addresses = max_addresses
        self.clock = clock
        self._entries: OrderedDict[str, _Entry] = OrderedDict()  # least recently struck first
        self.held = 0  # connections of addresses cooling down held unread now (http_protocol)

    @property
    def enabled(self) -> bool:
        return self.strikes > 0 and self.cooldown_s > 0

    def strike(self, address: str) -> bool:
        """`address` sent a head over the limit; True if that begins its cool-down."""
        if not self.enabled:
            return False
        now = self.clock()
        address = _key(address)
        entry = self._entries.get(address)
        if entry is None:
            if len(self._entries) >= self.max_addresses and not self._make_room(now):
                return False
            entry = self._entries[address] = _Entry(deque(maxlen=self.strikes))
        else:
            self._entries.move_to_end(address)
        if now < entry.cool_until:
            return False  # cooled down already (a connection accepted just before)
        entry.times.append(now)
        if len(entry.times) < self.strikes or now - entry.times[0] > self.window_s:
            return False
        entry.cool_until = now + self.cooldown_s
        entry.times.clear()  # counted afresh after the cool-down
        return True

    def cooling(self, address: str) -> float:
        """Seconds left of `address`'s cool-down (0.0: none)."""
        entry = self._entries.get(_key(address)) if self._entries else None
        if entry is None:
            return 0.0
        left = entry.cool_until - self.clock()
        return max(left, 0.0)

    def tracked(self) -> int:
        return len(self._entries)

    def _make_room(self, now: float) -> bool:
        """Forget the least recently struck address not cooling down (among the first EVICTION_SCAN);
        True if one was."""
        for scanned, (address, entry) in enumerate(self._entries.items()):
            if scanned >= EVICTION_SCAN:
                return False
            if now >= entry.cool_until:
                del self._entries[address]
                return True
        return False


def _key(address: str) -> str:
    if ":" not in address:
        return address
    try:
        ip = ipaddress.IPv6Address(address.split("%")[0])
    except ValueError:
        return address
    if ip.ipv4_mapped is not None:  # an IPv4 client of a dual-stack socket
        return str(ip.ipv4_mapped)
    return str(ipaddress.IPv6Network((ip, 64), strict=False))
