"""Refuse callers the blacklist refuses from the hotkey header alone, before bittensor reads anything.

bittensor's path to a 403 (parse every header into a synapse, sign it, run the blacklist, build the
error answer, log it) cost ~10 ms of miner CPU per refused request. This ASGI middleware, outermost,
answers the same 403 from the `bt_header_dendrite_hotkey` header and the metagraph snapshot: a refused
caller costs a dict lookup. The blacklist functions attached to the axon still run for the requests let
through (the same policy, so they only refuse what this gate could not see).

It also closes the connection after answers that refuse a request (400, 401, 403, 404, 408, 413, 415,
422, 431): a client that is refused does not keep a connection open for the keep-alive time.
"""

from __future__ import annotations

import json
from contextvars import ContextVar

from content_miner.neuron.access_policy import AccessPolicy
from content_miner.neuron.body_limit import App, Message, Receive, Scope, Send
from content_miner.neuron.refusal_log import RefusalLog

HOTKEY_HEADER = b"bt_header_dendrite_hotkey"
CLOSE_AFTER = frozenset({400, 401, 403, 404, 408, 413, 415, 422, 431})
CLOSE = (b"connection", b"close")
# The hotkey a request claims, for the refusal counts of requests bittensor could not parse into a synapse.
claimed_hotkey: ContextVar[str | None] = ContextVar("claimed_hotkey", default=None)


class AccessGate:
    def __init__(self, app: App, access: AccessPolicy, refusals: RefusalLog) -> None:
        self.app = app
        self.access = access
        self.refusals = refusals

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        hotkeys = [value for name, value in scope.get("headers") or [] if name == HOTKEY_HEADER]
        hotkey = hotkeys[0].decode("latin-1") if hotkeys else None
        if len(hotkeys) > 1:  # which one would bittensor read? neither
            await self._refuse(send, hotkey, 400, "more than one hotkey header",
                               "Improperly formatted request headers: more than one bt_header_dendrite_hotkey")
            return
        reason = self.access.refusal(hotkey)
        claimed_hotkey.set(hotkey)
        if reason is not None:
            await self._refuse(send, hotkey, 403, reason, f"Forbidden. Key is blacklisted: {reason}.")
            return

        async def closing_send(message: Message) -> None:
            if message["type"] == "http.response.start" and message.get("status") in CLOSE_AFTER:
                headers = list(message.get("headers") or [])
                if not any(name.lower() == b"connection" for name, _ in headers):
                    message = {**message, "headers": [*headers, CLOSE]}
            await send(message)

        await self.app(scope, receive, closing_send)

    async def _refuse(self, send: Send, hotkey: str | None, status: int, reason: str, message: str) -> None:
        self.refusals.record(hotkey, status, reason)
        body = json.dumps({"message": message}).encode()
        await send({"type": "http.response.start", "status": status,
                    "headers": [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode()),
                                CLOSE]})
        await send({"type": "http.response.body", "body": body})
