"""The axon's side of Module 2's loopback API (plans, accounts, images): async, never blocking the loop."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import httpx


class Module2Unavailable(Exception):
    """Module 2 did not answer (starting, restarting, or overloaded); str() is the one-line reason."""


@dataclass(frozen=True)
class ImageAnswer:
    status: int  # Module 2's HTTP status: 200, 404, 503 (not rendered yet), 400
    png: bytes | None
    detail: str


class Module2Client:
    """`base_url` is a URL, or a function that gives the current one (None while Module 2 has not
    said where it listens)."""

    def __init__(self, base_url: str | Callable[[], str | None], *, timeout_s: float = 5.0) -> None:
        self.base_url = base_url if callable(base_url) else (lambda: base_url)
        self.timeout_s = timeout_s
        self._clients: dict[tuple[int, str], httpx.AsyncClient] = {}

    def _client(self) -> httpx.AsyncClient:
        base = self.base_url()
        if base is None:
            raise Module2Unavailable("Module 2 is starting (it has not said where it listens yet)")
        # One client per event loop: an AsyncClient's connections belong to the loop that made them.
        loop_key = (id(asyncio.get_running_loop()), base)
        client = self._clients.get(loop_key)
        if client is None:
            client = httpx.AsyncClient(base_url=base, timeout=self.timeout_s)
            self._clients[loop_key] = client
        return client

    async def _get(self, path: str) -> httpx.Response:
        try:
            return await self._client().get(path)
        except httpx.HTTPError as err:
            raise Module2Unavailable(f"Module 2 is not answering ({type(err).__name__})") from None

    async def plan(self, platform: str, username: str) -> dict[str, Any] | None:
        response = await self._get(f"/plans/{platform}/{username}")
        return response.json() if response.status_code == 200 else None

    async def account(self, platform: str, username: str) -> dict[str, Any] | None:
        response = await self._get(f"/accounts/{platform}/{username}")
        return response.json() if response.status_code == 200 else None

    async def image(self, platform: str, username: str, recommendation_id: str) -> ImageAnswer:
        response = await self._get(f"/images/{platform}/{username}/{recommendation_id}.png")
        if response.status_code == 200:
            return ImageAnswer(200, response.content, "")
        try:
            detail = str(response.json().get("detail", ""))
        except ValueError:
            detail = response.text[:200]
        return ImageAnswer(response.status_code, None, detail)
