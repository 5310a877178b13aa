"""The axon: built, wired to the handlers, limited, started and confirmed listening.

Outside in: the connection limits (http_protocol: head size, read timeout, keep-alive, connection cap),
the access gate (403 from the hotkey header), the body size limit (413), bittensor's middleware
(headers, blacklist, signature and seen nonces, priority) with refusals counted (axon_errors), the
body check (400/415/422), the forward (rate limit 429, then the work).
"""

from __future__ import annotations

import functools
import importlib.util
import socket
import time
from typing import Any

import bittensor as bt

from content_miner.neuron import axon_errors
from content_miner.neuron.access_gate import AccessGate
from content_miner.neuron.axon_handlers import SynapseHandlers
from content_miner.neuron.body_limit import BodySizeLimit
from content_miner.neuron.http_protocol import ConnectionLimits, guard_connections

WILDCARD_HOSTS = ("", "[::]", "::", "0.0.0.0")


class AxonStartError(Exception):
    """The axon could not listen; str() is the one-line reason."""


def listen_host(config: Any, *, mock: bool) -> str:
    ip = str(config.axon.ip or "")
    if ip in WILDCARD_HOSTS:
        return "127.0.0.1" if mock else "0.0.0.0"
    return ip.strip("[]")


def _listen(host: str, port: int) -> socket.socket:
    """The axon's listening socket, bound here (port 0: any free port) so a taken port is one clear
    line, and the port is known before anyone is told it.

    Made with IPPROTO_TCP, not 0: asyncio disables Nagle's algorithm (TCP_NODELAY) only on the connections
    of sockets that say they are TCP. With it on, an answer's head and body, written apart, waited for the
    client's delayed ACK: about 40 ms more per request (stage-status p50 67 ms, 23 ms without)."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind((host, port))
        sock.listen(2048)
    except OSError as err:
        sock.close()
        raise AxonStartError(f"cannot listen on {host}:{port}: {err.strerror or err}") from None
    return sock


PLACEHOLDER_PORT = 8091  # what bittensor's Axon is built with when --axon.port is 0 (it refuses 0)


def event_loop() -> str:
    """The axon's event loop for uvicorn: uvloop where it is installed (a dependency on Linux), else asyncio's
    ("none", bittensor's choice). Measured with bench_abuse.py on loopback: stage-status p99 38-48 ms with
    uvloop, 103-122 ms with asyncio, and less CPU per refused request."""
    return "uvloop" if importlib.util.find_spec("uvloop") is not None else "none"


def connection_limits(config: Any) -> ConnectionLimits:
    return ConnectionLimits(max_header_bytes=int(config.axon.max_header_bytes),
                            read_timeout_s=float(config.axon.read_timeout), keep_alive_s=int(config.axon.keep_alive),
                            max_connections=int(config.axon.max_connections),
                            head_strikes=int(config.axon.head_strikes),
                            strike_window_s=float(config.axon.strike_window), cooldown_s=float(config.axon.cooldown))


def build_axon(wallet: bt.Wallet, config: Any, handlers: SynapseHandlers, *, mock: bool) -> bt.Axon:
    external_ip = config.axon.external_ip or ("127.0.0.1" if mock else None)
    axon = bt.Axon(wallet=wallet, config=config, external_ip=external_ip,
                   port=int(config.axon.port) or PLACEHOLDER_PORT)
    axon.fast_config.host = listen_host(config, mock=mock)  # the axon binds 0.0.0.0 unless told here
    axon.fast_config.loop = event_loop()
    guard_connections(axon.fast_config, connection_limits(config), handlers.refusals)
    axon_errors.install(axon, handlers.refusals)  # before attach: the routes take the body check then
    axon.attach(forward_fn=handlers.plan, blacklist_fn=handlers.blacklist_plan, priority_fn=handlers.priority_plan,
                verify_fn=handlers.verify_plan)
    axon.attach(forward_fn=handlers.status, blacklist_fn=handlers.blacklist_status,
                priority_fn=handlers.priority_status, verify_fn=handlers.verify_status)
    axon.attach(forward_fn=handlers.image, blacklist_fn=handlers.blacklist_image, priority_fn=handlers.priority_image,
                verify_fn=handlers.verify_image)
    # bittensor's own ping route (`/Synapse`, attached by Axon()) would keep the strictly increasing nonces.
    axon.verify_fns["Synapse"] = handlers.verifier.verify
    axon.app.add_middleware(BodySizeLimit, max_bytes=int(config.axon.max_body_bytes))
    axon.app.add_middleware(AccessGate, access=handlers.access, refusals=handlers.refusals)  # outermost
    return axon


def start_axon(axon: bt.Axon, port: int, *, announced_port: int | None = None, timeout_s: float = 10.0) -> int:
    """Listen on `port` (0: any free port) and serve; returns the port it listens on. The chain is
    told `announced_port` (--axon.external_port) if given, else that port."""
    host = axon.fast_config.host
    sock = _listen(host, port)
    port = int(sock.getsockname()[1])
    # uvicorn serves our socket: the instance's `run` is replaced on purpose, which mypy flags as such.
    axon.fast_server.run = functools.partial(axon.fast_server.run, sockets=[sock])  # type: ignore[method-assign]
    axon.port = port
    axon.external_port = announced_port or port
    axon.full_address = f"{axon.ip}:{port}"
    axon.fast_config.port = port
    axon.start()
    deadline = time.monotonic() + timeout_s
    while not axon.fast_server.started:  # a taken port raises nothing: `started` just stays False
        if time.monotonic() > deadline:
            axon.stop()
            sock.close()
            raise AxonStartError(f"the axon did not start listening on {host}:{port} within {timeout_s:g}s")
        time.sleep(0.01)
    return port
