"""Module 2: renders content-plan images and answers queries over loopback HTTP.

`Miners/Module2/main.py` is the entry point; `renderer` holds the backend interface.
"""

from __future__ import annotations

from .renderer import CardRenderer, available_renderers, create_renderer, register_renderer
from .settings import DEFAULT_PORT

__all__ = ["DEFAULT_PORT", "CardRenderer", "available_renderers", "create_renderer", "register_renderer"]
