"""The axon: built, wired to the handlers, limited, started and confirmed listening."""

from __future__ import annotations

import socket
import time
from typing import Any

import bittensor as bt

from miner_neuron.axon_handlers import SynapseHandlers
from miner_neuron.body_limit import BodySizeLimit

WILDCARD_HOSTS = ("", "[::]", "::", "0.0.0.0")


class AxonStartError(Exception):
    """The axon could not listen; str() is the one-line reason."""


def listen_host(config: Any, *, mock: bool) -> str:
    ip = str(config.axon.ip or "")
    if ip in WILDCARD_HOSTS:
        return "127.0.0.1" if mock else "0.0.0.0"
    return ip.strip("[]")


def _check_port_free(host: str, port: int) -> None:
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    with socket.socket(family, socket.SOCK_STREAM) as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind((host, port))
        except OSError as err:
            raise AxonStartError(f"cannot listen on {host}:{port}: {err.strerror or err}") from None


def build_axon(wallet: bt.Wallet, config: Any, handlers: SynapseHandlers, *, mock: bool) -> bt.Axon:
    external_ip = config.axon.external_ip or ("127.0.0.1" if mock else None)
    axon = bt.Axon(wallet=wallet, config=config, external_ip=external_ip)
    axon.fast_config.host = listen_host(config, mock=mock)  # the axon binds 0.0.0.0 unless told here
    axon.attach(forward_fn=handlers.plan, blacklist_fn=handlers.blacklist_plan, priority_fn=handlers.priority_plan)
    axon.attach(forward_fn=handlers.status, blacklist_fn=handlers.blacklist_status,
                priority_fn=handlers.priority_status)
    axon.attach(forward_fn=handlers.image, blacklist_fn=handlers.blacklist_image, priority_fn=handlers.priority_image)
    axon.app.add_middleware(BodySizeLimit, max_bytes=int(config.axon.max_body_bytes))  # outermost
    return axon


def start_axon(axon: bt.Axon, *, timeout_s: float = 10.0) -> None:
    host, port = axon.fast_config.host, int(axon.fast_config.port)
    _check_port_free(host, port)
    axon.start()
    deadline = time.monotonic() + timeout_s
    while not axon.fast_server.started:  # a taken port raises nothing: `started` just stays False
        if time.monotonic() > deadline:
            axon.stop()
            raise AxonStartError(f"the axon did not start listening on {host}:{port} within {timeout_s:g}s")
        time.sleep(0.01)
