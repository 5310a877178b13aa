"""The card renderer interface and its registry by name.

A backend turns one recommendation of a plan into PNG bytes. `post_card` (Pillow) is the default;
a diffusion backend would register under its own name and be chosen with `--renderer`.
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


_REGISTRY: dict[str, Callable[[], CardRenderer]] = {}


def register_renderer(name: str) -> Callable[[type[CardRenderer]], type[CardRenderer]]:
    """Class decorator: make a renderer available under `name`."""

    def decorate(cls: type[CardRenderer]) -> type[CardRenderer]:
        if name in _REGISTRY:
            raise ValueError(f"renderer {name!r} is already registered")
        cls.name = name
        _REGISTRY[name] = cls
        return cls

    return decorate


def available_renderers() -> list[str]:
    _load_builtin()
    return sorted(_REGISTRY)


def create_renderer(name: str) -> CardRenderer:
    """A new renderer registered under `name`; `KeyError` with the known names if there is none."""
    _load_builtin()
    try:
        factory = _REGISTRY[name]
    except KeyError:
        raise KeyError(f"unknown renderer {name!r}; available: {', '.join(sorted(_REGISTRY))}") from None
    return factory()


def _load_builtin() -> None:
    # Imported here, not at the top: the built-in backend imports this module to register itself.
    from . import post_card  # noqa: F401
