"""Client addresses that keep sending request heads over the limit: their connections closed at once, for a while.

Every head over the limit costs the miner a connection, a 64 KiB read, the parsing of it and an answer. An
address that sent `strikes` of them within `window_s` seconds is cooled down: for `cooldown_s` seconds its
new connections are turned away as soon as they are accepted, before anything is read. Only that address: a
validator that sent no such heads is never refused here. The cool-down ends `cooldown_s` after it began (the
strikes during it do not extend it); the strikes after it count afresh.

The table is bounded: at most `max_addresses` addresses are tracked. When it is full, addresses whose window
and cool-down are over are forgotten first; if none is, a new address is not tracked (not cooled down, never
refused by mistake); that search runs at most once a second. An IPv6 address is counted by its /64 network
(what one host is given), an IPv4 client of an IPv6 socket by its IPv4 address.
"""

from __future__ import annotations

import ipaddress
import time
from collections.abc import Callable
from dataclasses import dataclass

MAX_ADDRESSES = 10_000
SWEEP_INTERVAL_S = 1.0


@dataclass
class _Entry:
    window_start: float
    strikes: int = 0
    cool_until: float = 0.0  # while the clock is below it, the address is cooled down


class HeadStrikes:
    def __init__(self, strikes: int, window_s: float, cooldown_s: float, *, max_addresses: int = MAX_ADDRESSES,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.strikes = strikes
        self.window_s = window_s
        self.cooldown_s = cooldown_s
        self.max_addresses = max_addresses
        self.clock = clock
        self._entries: dict[str, _Entry] = {}
        self._next_sweep = 0.0
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
            if len(self._entries) >= self.max_addresses and not self._forget_finished(now):
                return False
            entry = self._entries[address] = _Entry(window_start=now)
        if now < entry.cool_until:
            return False  # cooled down already (a connection accepted just before)
        if now - entry.window_start >= self.window_s:
            entry.window_start, entry.strikes = now, 0
        entry.strikes += 1
        if entry.strikes < self.strikes:
            return False
        entry.cool_until = now + self.cooldown_s
        entry.window_start, entry.strikes = entry.cool_until, 0  # counted afresh after the cool-down
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

    def _forget_finished(self, now: float) -> bool:
        """Forget the addresses with neither a window nor a cool-down running; True if any was."""
        if now < self._next_sweep:
            return False
        self._next_sweep = now + SWEEP_INTERVAL_S
        finished = [address for address, entry in self._entries.items()
                    if now >= entry.cool_until and now - entry.window_start >= self.window_s]
        for address in finished:
            del self._entries[address]
        return bool(finished)


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
