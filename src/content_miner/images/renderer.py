"""The card renderer interface and its registry by name.

A backend turns one recommendation of a plan into PNG bytes. `post_card` (Pillow) is the default;
a diffusion backend would be added to the registry under its own name and chosen with `--renderer`.
Backends must be deterministic: the same plan gives the same bytes (the store relies on it to
skip unchanged plans after a restart).
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Callable

from content_miner.pipeline.plan import ContentPlan, Recommendation


class CardRenderer(ABC):
    """Renders one recommendation card as PNG bytes."""

    name: str = ""

    @abstractmethod
    def render(self, plan: ContentPlan, recommendation: Recommendation) -> bytes:
        """PNG bytes for `recommendation` of `plan`, sized for `plan.platform`."""


class RendererRegistry:
    """The renderers one service may use, by name. `default_renderers()` holds the built-in ones;
    tests and other backends build their own."""

    def __init__(self) -> None:
        self._factories: dict[str, Callable[[], CardRenderer]] = {}

    def register(self, name: str, factory: Callable[[], CardRenderer]) -> RendererRegistry:
        if name in self._factories:
            raise ValueError(f"renderer {name!r} is already registered")
        self._factories[name] = factory
        return self

    def names(self) -> list[str]:
        return sorted(self._factories)

    def create(self, name: str) -> CardRenderer:
        """A new renderer registered under `name`; `KeyError` with the known names if there is none."""
        try:
            factory = self._factories[name]
        except KeyError:
            raise KeyError(f"unknown renderer {name!r}; available: {', '.join(self.names())}") from None
        renderer = factory()
        renderer.name = name
        return renderer


def default_renderers() -> RendererRegistry:
    """The built-in renderers (imported here: Pillow and the fonts load only when asked for)."""
    from .post_card import PostCardRenderer

    return RendererRegistry().register("post_card", PostCardRenderer)


def available_renderers() -> list[str]:
    return default_renderers().names()


def create_renderer(name: str) -> CardRenderer:
    """A new built-in renderer registered under `name`; `KeyError` with the known names if there is none."""
    return default_renderers().create(name)
