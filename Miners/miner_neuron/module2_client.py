"""The axon's side of Module 2's loopback API (plans, accounts, images): async, never blocking the loop."""

from __future__ import annotations

import asyncio
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
    def __init__(self, base_url: str, *, timeout_s: float = 5.0) -> None:
        self.base_url = base_url
        self.timeout_s = timeout_s
        self._clients: dict[int, httpx.AsyncClient] = {}

    def _client(self) -> httpx.AsyncClient:
        # One client per event loop: an AsyncClient's connections belong to the loop that made them.
        loop_id = id(asyncio.get_running_loop())
        client = self._clients.get(loop_id)
        if client is None:
            client = httpx.AsyncClient(base_url=self.base_url, timeout=self.timeout_s)
            self._clients[loop_id] = client
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
