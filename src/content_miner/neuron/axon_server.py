"""The axon: built, wired to the handlers, limited, started and confirmed listening."""

from __future__ import annotations

import functools
import socket
import time
from typing import Any

import bittensor as bt

from content_miner.neuron.axon_handlers import SynapseHandlers
from content_miner.neuron.body_limit import BodySizeLimit

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
    line, and the port is known before anyone is told it."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind((host, port))
        sock.listen(2048)
    except OSError as err:
        sock.close()
        raise AxonStartError(f"cannot listen on {host}:{port}: {err.strerror or err}") from None
    return sock


PLACEHOLDER_PORT = 8091  # what bittensor's Axon is built with when --axon.port is 0 (it refuses 0)


def build_axon(wallet: bt.Wallet, config: Any, handlers: SynapseHandlers, *, mock: bool) -> bt.Axon:
    external_ip = config.axon.external_ip or ("127.0.0.1" if mock else None)
    axon = bt.Axon(wallet=wallet, config=config, external_ip=external_ip,
                   port=int(config.axon.port) or PLACEHOLDER_PORT)
    axon.fast_config.host = listen_host(config, mock=mock)  # the axon binds 0.0.0.0 unless told here
    axon.attach(forward_fn=handlers.plan, blacklist_fn=handlers.blacklist_plan, priority_fn=handlers.priority_plan)
    axon.attach(forward_fn=handlers.status, blacklist_fn=handlers.blacklist_status,
                priority_fn=handlers.priority_status)
    axon.attach(forward_fn=handlers.image, blacklist_fn=handlers.blacklist_image, priority_fn=handlers.priority_image)
    axon.app.add_middleware(BodySizeLimit, max_bytes=int(config.axon.max_body_bytes))  # outermost
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
