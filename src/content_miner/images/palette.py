"""The card colours, in one place."""

from __future__ import annotations

from dataclasses import dataclass

RGB = tuple[int, int, int]


@dataclass(frozen=True)
class Palette:
    background: RGB = (245, 247, 250)
    panel: RGB = (255, 255, 255)
    ink: RGB = (20, 23, 26)
    muted: RGB = (101, 119, 134)
    accent: RGB = (29, 155, 240)
    accent_strong: RGB = (12, 84, 160)
    warn: RGB = (224, 108, 0)
    header: RGB = (15, 20, 25)
    header_ink: RGB = (255, 255, 255)


DEFAULT_PALETTE = Palette()
