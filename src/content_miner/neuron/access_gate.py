"""Refuse callers the blacklist refuses from the hotkey header alone, before bittensor reads anything.

bittensor's path to a 403 (parse every header into a synapse, sign it, run the blacklist, build the
error answer, log it) cost ~10 ms of miner CPU per refused request. This ASGI middleware, outermost,
answers the same 403 from the `bt_header_dendrite_hotkey` header and the metagraph snapshot: a refused
caller costs a dict lookup. The blacklist functions attached to the axon still run for the requests let
through (the same policy, so they only refuse what this gate could not see).

It also refuses (400, counted like every refusal) a `bt_header_input_obj_*` header that bittensor
could not use: a name that is not a field of the synapse, or a value that is not base64 JSON.
bittensor would log an ERROR line for each such request, with the header's whole name in it.

It also closes the connection after answers that refuse a request (400, 401, 403, 404, 408, 413, 415,
422, 431): a client that is refused does not keep a connection open for the keep-alive time.
"""

from __future__ import annotations

import base64
import binascii
import json
from contextvars import ContextVar

from content_miner.neuron.access_policy import AccessPolicy
from content_miner.neuron.body_limit import App, Message, Receive, Scope, Send
from content_miner.neuron.refusal_log import RefusalLog

HOTKEY_HEADER = b"bt_header_dendrite_hotkey"
INPUT_MARK = b"bt_header_input_obj"  # bittensor looks for it anywhere in a header's name
INPUT_PREFIX = INPUT_MARK + b"_"
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
        unusable = _unusable_input_header(scope)
        if unusable is not None:
            await self._refuse(send, hotkey, 400, "malformed input header", f"Improperly formatted request headers: "
                               f"{unusable}")
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


def _synapse_fields() -> dict[str, frozenset[bytes]]:
    from content_miner_protocol import ContentPlanSynapse, RecommendationImageSynapse, StageStatusSynapse

    return {cls.__name__: frozenset(name.encode() for name in cls.model_fields)
            for cls in (ContentPlanSynapse, StageStatusSynapse, RecommendationImageSynapse)}


SYNAPSE_FIELDS = _synapse_fields()


def _unusable_input_header(scope: Scope) -> str | None:
    """What is wrong with the request's input headers, in a few words (never the header itself)."""
    fields = SYNAPSE_FIELDS.get(str(scope.get("path", "")).strip("/"))
    for name, value in scope.get("headers") or []:
        if INPUT_MARK not in name:
            continue
        if fields is None:
            return None  # an unknown route: bittensor answers 404 before it reads the headers
        if not name.startswith(INPUT_PREFIX) or name[len(INPUT_PREFIX):] not in fields:
            return "an input header that names no field of the synapse"
        try:
            json.loads(base64.b64decode(value, validate=True))
        except (binascii.Error, ValueError, RecursionError):
            return "an input header whose value is not base64 JSON"
    return None
