"""Whether a parsed configuration can work: the first problem as one line for the operator, or None.

argparse checks the types; this checks the ranges, before anything starts, so that no value reaches
a library that would refuse it with a traceback (bt.Axon asserts on its port).
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

from content_miner.dashboard.access import settings_problem
from content_miner.neuron.listen_hosts import HOST_REQUIREMENT, usable_host
from content_miner.neuron.shutdown_budget import MAX_STOP_TIMEOUT_S, SHUTDOWN_LIMIT_S

# bt.Axon.check_config asserts `1024 < port < 65535`, for the listening and the announced port.
AXON_PORT_MIN, AXON_PORT_MAX = 1025, 65534
NETUID_MAX = 65535  # a u16 on the chain
TRACKER_MIN_ROWS = 1000  # fewer would cut into the recent events the status file and StageStatus show
MIN_HEADER_BYTES, MAX_HEADER_BYTES = 8 * 1024, 1024 * 1024
MAX_CONNECTIONS = 20_000  # a file descriptor each; the miner's limit was 20,000 (shared with its files)


def _number(value: Any) -> bool:
    """A real number (a YAML file could give a list or a string); NaN and infinity are not usable
    as intervals (Event.wait(inf) raises OverflowError)."""
    return isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)


def _integer(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _within(value: Any, low: float, high: float | None = None, *, integer: bool = False) -> bool:
    if not (_integer(value) if integer else _number(value)):
        return False
    return low <= value and (high is None or value <= high)


def _positive(value: Any) -> bool:
    return _number(value) and value > 0


def _value(config: Any, flag: str) -> Any:
    section, _, name = flag.partition(".")
    return getattr(getattr(config, section), name) if name else getattr(config, section)


def check_config(config: Any) -> str | None:
    """A one-line reason the configuration cannot work, or None."""
    ports = f"0 (any free port) or {AXON_PORT_MIN}-{AXON_PORT_MAX} (bittensor's axon refuses other ports)"
    stop_limit = (f"> 0 and at most {MAX_STOP_TIMEOUT_S:g} (the miner exits within {SHUTDOWN_LIMIT_S:g} s "
                  "of SIGTERM)")
    rules: list[tuple[str, Callable[[Any], bool], str]] = [
        ("netuid", lambda v: _within(v, 0, NETUID_MAX, integer=True), f"0-{NETUID_MAX}"),
        ("axon.port", lambda v: v == 0 or _within(v, AXON_PORT_MIN, AXON_PORT_MAX, integer=True), ports),
        ("axon.external_port", lambda v: v is None or _within(v, AXON_PORT_MIN, AXON_PORT_MAX, integer=True),
         f"{AXON_PORT_MIN}-{AXON_PORT_MAX}"),
        ("axon.max_workers", lambda v: _within(v, 1, integer=True), ">= 1"),
        ("axon.max_body_bytes", lambda v: _within(v, 1024, integer=True), "at least 1024"),
        ("axon.max_header_bytes", lambda v: _within(v, MIN_HEADER_BYTES, MAX_HEADER_BYTES, integer=True),
         f"{MIN_HEADER_BYTES}-{MAX_HEADER_BYTES} (a Dendrite's request head is about 1 KiB)"),
        ("axon.read_timeout", lambda v: _within(v, 0.1, 300), "0.1-300 seconds"),
        ("axon.keep_alive", lambda v: _within(v, 1, 3600, integer=True), "1-3600 seconds"),
        ("axon.max_connections", lambda v: _within(v, 1, MAX_CONNECTIONS, integer=True),
         f"1-{MAX_CONNECTIONS} (each is a file descriptor)"),
        ("axon.head_strikes", lambda v: _within(v, 0, 1000, integer=True), "0 (never) to 1000"),
        ("axon.strike_window", lambda v: _within(v, 1, 3600), "1-3600 seconds"),
        ("axon.cooldown", lambda v: _within(v, 1, 3600), "1-3600 seconds"),
        ("axon.nonce_window", lambda v: _within(v, 1, 600), "1-600 seconds"),
        ("axon.refusal_log_interval", lambda v: _within(v, 1, 3600), "1-3600 seconds"),
        ("module2.port", lambda v: _within(v, 0, 65535, integer=True), "0 (any free port) or 1-65535"),
        ("module2.port", lambda v: v == 0 or v != config.axon.port, "another port than --axon.port"),
        ("metrics.port", lambda v: _within(v, 0, 65535, integer=True), "0 (any free port) or 1-65535"),
        ("metrics.port", lambda v: v == 0 or v != config.axon.port, "another port than --axon.port"),
        ("metrics.port", lambda v: v == 0 or v != config.module2.port, "another port than --module2.port"),
        ("metrics.host", usable_host, HOST_REQUIREMENT),
        ("blacklist.requests_per_minute", _positive, "> 0 and finite"),
        ("blacklist.burst", lambda v: _within(v, 1, integer=True), ">= 1"),
        ("jobs.max_per_hotkey", lambda v: _within(v, 1, integer=True), ">= 1"),
        ("jobs.max_queued", lambda v: _within(v, 1, integer=True), ">= 1"),
        ("jobs.retry_cooldown", lambda v: _within(v, 0), ">= 0 and finite"),
        ("inbox.keep_days", _positive, "> 0 and finite"),
        ("inbox.keep_files", lambda v: _within(v, 1, integer=True), ">= 1"),
        ("status.interval", _positive, "> 0 and finite"),
        ("stages.poll_interval", _positive, "> 0 and finite"),
        ("stages.stall_factor", lambda v: _within(v, 1.0), ">= 1 and finite"),
        ("stages.stall_restart_factor", lambda v: _within(v, 1.0), ">= 1 and finite"),
        ("tracker.keep_days", _positive, "> 0 and finite"),
        ("tracker.max_rows", lambda v: _within(v, TRACKER_MIN_ROWS, integer=True), f">= {TRACKER_MIN_ROWS}"),
        ("metagraph.sync_interval", _positive, "> 0 and finite"),
        ("module1.wait_seconds", _positive, "> 0 and finite"),
        ("module1.poll_seconds", _positive, "> 0 and finite"),
        ("supervisor.backoff_start", lambda v: _within(v, 0), ">= 0"),
        ("supervisor.backoff_factor", lambda v: _within(v, 1), ">= 1"),
        ("supervisor.backoff_max", lambda v: _within(v, config.supervisor.backoff_start),
         ">= --supervisor.backoff_start"),
        ("supervisor.stable_seconds", lambda v: _within(v, 0), ">= 0"),
        ("supervisor.max_fast_failures", lambda v: _within(v, 1, integer=True), ">= 1"),
        ("supervisor.stop_timeout", lambda v: _positive(v) and v <= MAX_STOP_TIMEOUT_S, stop_limit),
        ("supervisor.log_max_mb", lambda v: _within(v, 0.01), ">= 0.01 and finite"),
        ("supervisor.log_keep", lambda v: _within(v, 0, 100, integer=True), "0-100"),
        ("supervisor.health_interval", _positive, "> 0 and finite"),
        ("supervisor.health_timeout", _positive, "> 0 and finite"),
        ("supervisor.health_failures", lambda v: _within(v, 1, integer=True), ">= 1"),
        ("dashboard.port", lambda v: v is None or _within(v, 0, 65535, integer=True), "0 (any free port) or 1-65535"),
        ("dashboard.port", lambda v: v in (None, 0) or v not in (config.axon.port, config.module2.port),
         "another port than --axon.port and --module2.port"),
        ("dashboard.host", lambda v: isinstance(v, str) and 0 < len(v.strip()) <= 253, "an address, e.g. 127.0.0.1"),
    ]
    for flag, ok, requirement in rules:
        value = _value(config, flag)
        if not ok(value):
            return f"--{flag} must be {requirement}, got {value}"
    return _dashboard_problem(config)


def _dashboard_problem(config: Any) -> str | None:
    """The dashboard's address and token (never shown: the line names the flag, not the value)."""
    if config.dashboard.port is None:
        return None
    token = config.dashboard.token
    if token is not None and not isinstance(token, str):
        return "--dashboard.token must be text"
    return settings_problem(str(config.dashboard.host), token)
