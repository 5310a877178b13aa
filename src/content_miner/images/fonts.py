"""Fonts for the cards: DejaVu Sans from matplotlib's data, else Pillow's built-in font.

DejaVu ships with matplotlib (already a dependency of the pipeline's charts), covers Latin,
Greek and Cyrillic, and is the same file on every machine with the same matplotlib, which keeps
the rendered bytes deterministic. Located without importing matplotlib (its import costs ~0.3 s).
"""

from __future__ import annotations

import importlib.util
import logging
from functools import lru_cache
from pathlib import Path

from PIL import ImageFont

logger = logging.getLogger(__name__)

FontType = ImageFont.FreeTypeFont | ImageFont.ImageFont

_FILES = {"regular": "DejaVuSans.ttf", "bold": "DejaVuSans-Bold.ttf"}


@lru_cache(maxsize=1)
def font_dir() -> Path | None:
    """matplotlib's TrueType directory, or None when matplotlib is not installed."""
    spec = importlib.util.find_spec("matplotlib")
    if spec is None or not spec.submodule_search_locations:
        return None
    for location in spec.submodule_search_locations:
        candidate = Path(location) / "mpl-data" / "fonts" / "ttf"
        if (candidate / _FILES["regular"]).is_file():
            return candidate
    return None


@lru_cache(maxsize=256)
def font(weight: str, size: int) -> FontType:
    """The font of `weight` ("regular" or "bold") at `size` pixels; cached, fonts are reusable."""
    directory = font_dir()
    if directory is not None:
        path = directory / _FILES[weight]
        if path.is_file():
            return ImageFont.truetype(str(path), size)
    _warn_fallback()
    return ImageFont.load_default(size)


@lru_cache(maxsize=1)
def _warn_fallback() -> None:
    logger.warning("DejaVu fonts not found (matplotlib missing?); cards use Pillow's default font")
