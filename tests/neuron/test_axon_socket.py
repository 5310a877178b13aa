"""The axon's listening socket, with asyncio as uvicorn uses it: the connections it accepts have Nagle's
algorithm off (otherwise each answer waits ~40 ms for the client's delayed ACK)."""

from __future__ import annotations

import asyncio
import socket

from content_miner.neuron.axon_server import _listen


def test_accepted_connections_send_without_delay() -> None:
    async def nodelay_of_an_accepted_connection() -> int:
        accepted: asyncio.Future[int] = asyncio.get_running_loop().create_future()

        class Probe(asyncio.Protocol):
            def connection_made(self, transport: asyncio.BaseTransport) -> None:
                sock = transport.get_extra_info("socket")
                accepted.set_result(sock.getsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY))
                transport.close()

        listening = _listen("127.0.0.1", 0)
        server = await asyncio.get_running_loop().create_server(Probe, sock=listening)
        try:
            _, writer = await asyncio.open_connection("127.0.0.1", listening.getsockname()[1])
            writer.close()
            return await asyncio.wait_for(accepted, timeout=10)
        finally:
            server.close()
            await server.wait_closed()

    assert asyncio.run(nodelay_of_an_accepted_connection()) == 1
