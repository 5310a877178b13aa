"""HTTP/1.1 over a plain socket, for tests that send what no HTTP client would: half a request, a huge
head, a request with a replayed signature, or a second request on a connection kept idle."""

from __future__ import annotations

import json
import socket
from dataclasses import dataclass


@dataclass(frozen=True)
class Answer:
    status: int
    headers: dict[str, str]
    body: bytes

    @property
    def message(self) -> str:
        try:
            return str(json.loads(self.body).get("message", ""))
        except ValueError:
            return ""


def request_bytes(path: str, headers: dict[str, str], body: bytes = b"") -> bytes:
    lines = [f"POST {path} HTTP/1.1", "host: 127.0.0.1", *(f"{k}: {v}" for k, v in headers.items()),
             f"content-length: {len(body)}"]
    return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1") + body


def connect(port: int, timeout: float = 10.0, source: str | None = None) -> socket.socket:
    """A connection to the server on 127.0.0.1, from loopback address `source` if given (127.0.0.2: Linux
    routes all of 127.0.0.0/8 to lo), as a client on another machine would be."""
    return socket.create_connection(("127.0.0.1", port), timeout=timeout,
                                    source_address=(source, 0) if source else None)


def read_answer(sock: socket.socket) -> Answer | None:
    """The next answer on `sock`, or None if the server closed the connection without one (the socket's
    timeout applies to each read)."""
    data = b""
    while b"\r\n\r\n" not in data:
        try:
            chunk = sock.recv(65536)
        except ConnectionResetError:
            chunk = b""
        if not chunk:
            if data:
                raise AssertionError(f"connection closed in the middle of an answer: {data[:200]!r}")
            return None
        data += chunk
    head, _, body = data.partition(b"\r\n\r\n")
    status_line, *header_lines = head.decode("latin-1").split("\r\n")
    headers = {}
    for header in header_lines:
        name, _, value = header.partition(":")
        headers[name.strip().lower()] = value.strip()
    length = int(headers.get("content-length", "0"))
    while len(body) < length:
        chunk = sock.recv(65536)
        if not chunk:
            break
        body += chunk
    return Answer(int(status_line.split(" ")[1]), headers, body[:length])


def closed_by_server(sock: socket.socket) -> bool:
    """Whether the server closed `sock` (end of stream or reset) before the socket's timeout."""
    try:
        return sock.recv(65536) == b""
    except ConnectionResetError:
        return True


def exchange(port: int, data: bytes, timeout: float = 10.0, source: str | None = None) -> Answer | None:
    """Send `data` on a new connection (from `source`, if given) and read one answer."""
    with connect(port, timeout, source) as sock:
        try:
            sock.sendall(data)
        except (BrokenPipeError, ConnectionResetError):
            pass  # the server answered and closed before taking it all: read what it said
        return read_answer(sock)
