"""Addresses a server of the miner may be told to listen on (`--metrics.host`): checked before anything
starts, and whether they stay on this machine."""

from __future__ import annotations

import ipaddress

LOOPBACK_NAMES = ("localhost",)
HOST_REQUIREMENT = "an IP address (127.0.0.1, ::1, 0.0.0.0, ...) or localhost"


def is_loopback(host: str) -> bool:
    """127.0.0.0/8, ::1 or `localhost` (what only this machine can reach); brackets and spaces around allowed."""
    name = host.strip().strip("[]").lower()
    if name in LOOPBACK_NAMES:
        return True
    try:
        return ipaddress.ip_address(name).is_loopback
    except ValueError:
        return False


def usable_host(host: object) -> bool:
    """An IP address literal (v4 or v6, brackets allowed) or `localhost`: nothing that needs a lookup."""
    if not isinstance(host, str) or not host:
        return False
    if host.lower() in LOOPBACK_NAMES:
        return True
    try:
        ipaddress.ip_address(host.strip("[]"))
    except ValueError:
        return False
    return True
