"""The axon's HTTP connections: bounded request heads, read timeouts, keep-alive and a connection cap.

bittensor serves the axon with uvicorn's defaults: httptools with no limit on header size (1 MB of
headers were read and logged whole), no timeout for a request that never completes (300 half-open
connections were held for over 70 s), no cap on connections, and keep-alive 5 s, shorter than the 15 s
a Dendrite (aiohttp) reuses idle connections (the Dendrite then sent requests on connections the
server was closing: 503 "Server disconnected"). This is uvicorn's h11 protocol with:

- heads over `max_header_bytes` answered 431 and closed, having read at most `max_header_bytes` + 1
  bytes: h11 refuses an incomplete head beyond its buffer limit, and a complete head that arrived in one
  read is measured here (uvicorn would say 400);
- `read_timeout_s` for a whole request, head and body, counted from the connection (or, on a kept-alive
  connection, from the request's first byte): 408 and closed (a connection that sent nothing is closed);
- `keep_alive_s` between requests;
- at most `max_connections` at once: one more is answered 503 and closed at once;
- a client address that sent `head_strikes` heads over the limit within `strike_window_s` is cooled down
  for `cooldown_s` (head_strikes.py): its new connections are never read nor parsed, held unread for
  the read timeout at most (MAX_HELD at once) and closed. A flood of huge heads then costs the miner an
  accept and a close per connection, and a client that waits for its answers is slowed down to a few
  connections per read timeout.
"""

from __future__ import annotations

import asyncio
import json
import typing
from dataclasses import dataclass
from typing import Any, ClassVar

import h11
import uvicorn
from uvicorn.protocols.http.h11_impl import H11Protocol

from content_miner.neuron.head_strikes import HeadStrikes
from content_miner.neuron.refusal_log import RefusalLog

READ_TIMEOUT_STATES = (h11.IDLE, h11.SEND_BODY)  # the client's side of a request still being received
COOLING_DOWN = "cooling down after request heads over the limit"
MAX_HELD = 64  # connections of addresses cooling down held unread at once; more are closed at once


@dataclass(frozen=True)
class ConnectionLimits:
    max_header_bytes: int = 64 * 1024
    read_timeout_s: float = 10.0
    keep_alive_s: int = 30
    max_connections: int = 500
    head_strikes: int = 5  # 0: no cool-down
    strike_window_s: float = 60.0
    cooldown_s: float = 60.0


class _MeasuredConnection(h11.Connection):
    """h11's connection, keeping the last protocol error (for its status hint) and refusing complete
    heads over the limit, which h11 accepts when they arrive in one read."""

    def __init__(self, max_head_bytes: int) -> None:
        super().__init__(h11.SERVER, max_incomplete_event_size=max_head_bytes)
        self.max_head_bytes = max_head_bytes
        self.last_error: h11.RemoteProtocolError | None = None

    def next_event(self) -> Any:
        try:
            event = super().next_event()
        except h11.RemoteProtocolError as err:
            self.last_error = err
            raise
        if isinstance(event, h11.Request):
            size = len(event.method) + len(event.target) + 12 + sum(len(n) + len(v) + 4 for n, v in event.headers)
            if size > self.max_head_bytes:
                self.last_error = h11.RemoteProtocolError("request head too large", error_status_hint=431)
                raise self.last_error
        return event


class GuardedH11Protocol(H11Protocol):
    limits: ClassVar[ConnectionLimits] = ConnectionLimits()
    refusals: ClassVar[RefusalLog | None] = None
    strikes: ClassVar[HeadStrikes | None] = None

    def __init__(self, config: uvicorn.Config, server_state: Any, app_state: dict[str, Any],
                 _loop: asyncio.AbstractEventLoop | None = None) -> None:
        super().__init__(config, server_state, app_state, _loop)
        self.conn = _MeasuredConnection(self.limits.max_header_bytes)
        self._read_timer: asyncio.TimerHandle | None = None

    # -- connection -----------------------------------------------------------------------------

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        full = len(self.connections) >= self.limits.max_connections
        super().connection_made(transport)
        if full:
            self._refuse(503, "too many connections", f"more than {self.limits.max_connections} connections at once")
            return
        self._start_read_timer()

    def connection_lost(self, exc: Exception | None) -> None:
        self._stop_read_timer()
        super().connection_lost(exc)

    def data_received(self, data: bytes) -> None:
        if self._read_timer is None:
            self._start_read_timer()  # the first byte of a request on a kept-alive connection
        super().data_received(data)
        if self.conn.their_state not in READ_TIMEOUT_STATES or self.transport.is_closing():
            self._stop_read_timer()  # the whole request is in (or the connection is ending)

    def send_400_response(self, msg: str) -> None:
        """uvicorn's answer to any protocol error: here 431 for a head over the limit, else 400."""
        error = getattr(self.conn, "last_error", None)
        if error is not None and error.error_status_hint == 431:
            limit = self.limits.max_header_bytes
            self._refuse(431, "request head too large", f"request head larger than {limit} bytes")
            if self.strikes is not None and self.client and self.strikes.strike(self.client[0]):
                limits = self.limits
                heads = f"{limits.head_strikes} request head{'s' if limits.head_strikes != 1 else ''}"
                self._record(431, COOLING_DOWN, f"{heads} over the limit within {limits.strike_window_s:g} s: "
                             f"new connections turned away for {limits.cooldown_s:g} s", counted=False)
        else:
            self._refuse(400, "invalid HTTP", "invalid HTTP request")

    # -- read timeout ---------------------------------------------------------------------------

    def _start_read_timer(self) -> None:
        self._stop_read_timer()
        self._read_timer = self.loop.call_later(self.limits.read_timeout_s, self._read_timed_out)

    def _stop_read_timer(self) -> None:
        if self._read_timer is not None:
            self._read_timer.cancel()
            self._read_timer = None

    def _read_timed_out(self) -> None:
        self._read_timer = None
        if self.transport.is_closing() or self.conn.their_state not in READ_TIMEOUT_STATES:
            return
        partial = self.conn.their_state is h11.SEND_BODY or bool(self.conn.trailing_data[0])
        if not partial:  # connected and sent nothing
            self._record(408, "idle connection", f"nothing sent within {self.limits.read_timeout_s:g} s")
            self.transport.close()
            return
        if self.cycle is not None and self.cycle.response_started:
            self.transport.close()
            return
        self._refuse(408, "request not completed in time",
                     f"request not completed within {self.limits.read_timeout_s:g} s")

    # -- answers --------------------------------------------------------------------------------

    def _refuse(self, status: int, reason: str, message: str) -> None:
        """Answer `status` with a JSON message (the shape of the axon's error answers) and close."""
        self._record(status, reason, message)
        self._stop_read_timer()
        body = json.dumps({"message": message}).encode()
        phrase = {400: "Bad Request", 408: "Request Timeout", 431: "Request Header Fields Too Large",
                  503: "Service Unavailable"}.get(status, "Error")
        head = (f"HTTP/1.1 {status} {phrase}\r\ncontent-type: application/json\r\ncontent-length: {len(body)}\r\n"
                "connection: close\r\n\r\n").encode("ascii")
        if not self.transport.is_closing():
            self.transport.write(head + body)
            self.transport.close()

    def _record(self, status: int, reason: str, message: str, *, counted: bool = True) -> None:
        if self.refusals is not None:
            where = f"client {self.client[0]}" if self.client else "an unknown client"
            self.refusals.record(where, status, reason, message, counted=counted)


class _TurnedAway:
    """The protocol of a connection turned away unread: whatever happens to it is nobody's business."""

    def connection_lost(self, exc: Exception | None) -> None: ...
    def eof_received(self) -> None: ...
    def pause_writing(self) -> None: ...
    def resume_writing(self) -> None: ...
    def data_received(self, data: bytes) -> None: ...


TURNED_AWAY = _TurnedAway()


class BoundedReads(asyncio.BufferedProtocol):
    """What the event loop sees of a connection: reads of at most the head limit + 1 bytes, handed to the
    GuardedH11Protocol inside. The loops read 128-256 KiB at once into a plain Protocol (uvloop reads into a
    buffer of ours only for a protocol that is no asyncio.Protocol, which uvicorn's is): so a head over the
    limit is answered 431 having read at most the limit + 1 bytes. One buffer per loop: each read is copied
    out at once."""

    protocol_class: ClassVar[type[GuardedH11Protocol]] = GuardedH11Protocol
    read_buffer: ClassVar[memoryview] = memoryview(bytearray(ConnectionLimits().max_header_bytes + 1))

    def __init__(self, config: uvicorn.Config, server_state: Any, app_state: dict[str, Any],
                 _loop: asyncio.AbstractEventLoop | None = None) -> None:
        self.arguments = (config, server_state, app_state, _loop)
        self.inner: GuardedH11Protocol | _TurnedAway = TURNED_AWAY  # the real one once a connection is taken

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        strikes = self.protocol_class.strikes
        if strikes is not None and strikes.enabled:
            peer = transport.get_extra_info("peername")
            address = str(peer[0]) if peer else ""
            left = strikes.cooling(address) if address else 0.0
            if left > 0:
                hold_s = min(left, self.protocol_class.limits.read_timeout_s)
                self._turn_away(typing.cast(asyncio.Transport, transport), address, hold_s, strikes)
                return
        inner = self.inner = self.protocol_class(*self.arguments)
        inner.connection_made(transport)  # type: ignore[arg-type]  # a TCP transport

    def _turn_away(self, transport: asyncio.Transport, address: str, hold_s: float, strikes: HeadStrikes) -> None:
        """A connection from an address cooling down: nothing of it is read. It is held, reading paused, for
        `hold_s` (the read timeout or what is left of the cool-down, the shorter), then closed, unless
        MAX_HELD are held already: then it is closed at once. Held, a client that waits for its answer (as
        a flood's does) waits as for a request it never finished, instead of coming back at once; closed
        with unread bytes, the connection is reset and the kernel keeps nothing of it."""
        refusals = self.protocol_class.refusals
        if refusals is not None:
            refusals.record(f"client {address}", 431, COOLING_DOWN, "connection closed unread")
        if strikes.held >= MAX_HELD:
            transport.abort()
            return
        strikes.held += 1
        transport.pause_reading()

        def close() -> None:
            strikes.held -= 1
            if not transport.is_closing():
                transport.abort()

        asyncio.get_running_loop().call_later(hold_s, close)

    def connection_lost(self, exc: Exception | None) -> None:
        self.inner.connection_lost(exc)

    def eof_received(self) -> None:
        self.inner.eof_received()  # uvicorn's returns None: the transport closes

    def pause_writing(self) -> None:
        self.inner.pause_writing()

    def resume_writing(self) -> None:
        self.inner.resume_writing()

    def get_buffer(self, sizehint: int) -> memoryview:
        return self.read_buffer

    def buffer_updated(self, nbytes: int) -> None:
        self.inner.data_received(bytes(self.read_buffer[:nbytes]))


def guard_connections(config: uvicorn.Config, limits: ConnectionLimits, refusals: RefusalLog | None) -> None:
    """Serve `config` (an Axon's `fast_config`, before start) with these limits."""
    strikes = HeadStrikes(limits.head_strikes, limits.strike_window_s, limits.cooldown_s)
    protocol = type("AxonH11Protocol", (GuardedH11Protocol,), {"limits": limits, "refusals": refusals,
                                                              "strikes": strikes})
    config.http = type("AxonConnection", (BoundedReads,), {
        "protocol_class": protocol, "read_buffer": memoryview(bytearray(limits.max_header_bytes + 1))})
    config.h11_max_incomplete_event_size = limits.max_header_bytes
    config.timeout_keep_alive = limits.keep_alive_s
    # Requests (tasks) in flight, as well: one whose client went away still runs to its end.
    config.limit_concurrency = limits.max_connections + 1
