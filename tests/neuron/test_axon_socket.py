"""The axon's sockets, served as uvicorn serves them, in-process on loopback: the connections it accepts have
Nagle's algorithm off (otherwise each answer waits ~40 ms for the client's delayed ACK), and a request head
over the limit is refused having read no more than the limit."""

from __future__ import annotations

import asyncio
import socket
import threading

import pytest
import uvicorn

from content_miner.neuron.axon_server import _listen
from content_miner.neuron.http_protocol import BoundedReads, ConnectionLimits, guard_connections
from support.raw_http import read_answer
from support.waiting import wait_for


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


@pytest.mark.parametrize("loop", ["asyncio", "uvloop"])
def test_a_head_over_the_limit_is_refused_having_read_at_most_the_limit(loop: str) -> None:
    """The event loops read 128-256 KiB at once; the axon's connections read at most the limit + 1 bytes."""
    reads: list[int] = []

    async def app(scope: dict, receive: object, send: object) -> None:
        raise AssertionError("no request may reach the app")

    config = uvicorn.Config(app, log_level="critical", loop=loop, lifespan="off")
    limits = ConnectionLimits()
    guard_connections(config, limits, None)
    axon_connection = config.http
    assert isinstance(axon_connection, type) and issubclass(axon_connection, BoundedReads)

    def counted(self: BoundedReads, nbytes: int) -> None:
        reads.append(nbytes)
        axon_connection.buffer_updated(self, nbytes)

    config.http = type("Counted", (axon_connection,), {"buffer_updated": counted})
    listening = _listen("127.0.0.1", 0)
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, kwargs={"sockets": [listening]}, daemon=True)
    thread.start()
    try:
        wait_for(lambda: server.started, timeout=10, what="the server")
        head = b"POST /StageStatusSynapse HTTP/1.1\r\nhost: 127.0.0.1\r\n" + b"x-pad: " + b"a" * 1_000_000
        with socket.create_connection(listening.getsockname()[:2], timeout=10) as sock:
            try:
                sock.sendall(head)
            except (BrokenPipeError, ConnectionResetError):
                pass  # refused before it was all sent
            answer = read_answer(sock)
        assert answer is not None and answer.status == 431
        assert sum(reads) <= limits.max_header_bytes + 1, reads
    finally:
        server.should_exit = True
        thread.join(timeout=10)
