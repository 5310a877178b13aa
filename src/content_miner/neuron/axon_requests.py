"""Counting the axon's requests by synapse and HTTP status, for /metrics.

`RequestCounter` is an ASGI middleware added outermost on `axon.app` (after every other one), so it
sees every answer, the 413 of the body limit and bittensor's own 401/403 included. The synapse is the
request's route (`/ContentPlanSynapse`); any other path counts as `other`, so a scanner trying random
paths cannot create new series. Refusals by reason are not read off these statuses: the axon's
`RefusalLog` counts them where they happen (the connection-level ones, 408/431/503, never reach an
ASGI app at all).
"""

from __future__ import annotations

import threading
from collections.abc import Iterable
from typing import Any

from content_miner.neuron.body_limit import App, Message, Receive, Scope, Send

OTHER = "other"


class AxonRequests:
    """The counts, shared by the middleware (the axon's event loop) and the metrics (a scrape thread)."""

    def __init__(self, synapses: Iterable[str]) -> None:
        self.synapses = frozenset(synapses)
        # Each synapse's 200 from the start, at 0: a rate has a series to look at before the first request.
        self._counts: dict[tuple[str, str], int] = {(name, "200"): 0 for name in self.synapses}
        self._lock = threading.Lock()

    def add(self, path: str, status: int | None) -> None:
        name = path.strip("/")
        key = (name if name in self.synapses else OTHER, str(status) if status is not None else "none")
        with self._lock:
            self._counts[key] = self._counts.get(key, 0) + 1

    def counts(self) -> dict[tuple[str, str], int]:
        """(synapse, status) -> requests answered so far."""
        with self._lock:
            return dict(self._counts)


class RequestCounter:
    def __init__(self, app: App, requests: AxonRequests) -> None:
        self.app = app
        self.requests = requests

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        status: int | None = None

        async def noting_status(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = int(message["status"])
            await send(message)

        try:
            await self.app(scope, receive, noting_status)
        except BaseException:
            if status is None:
                status = 500  # what the server answers for an exception before any response
            raise
        finally:
            self.requests.add(str(scope.get("path", "")), status)


def count_requests(axon: Any) -> AxonRequests:
    """Count `axon`'s answers from now on: call after every other middleware was added (this one must
    be outermost) and before the axon starts."""
    requests = AxonRequests(axon.forward_class_types)
    axon.app.add_middleware(RequestCounter, requests=requests)
    return requests
