"""Where each part of a post card goes, as boxes computed from the card size alone.

Tests and other renderers use the same boxes, so "the text area" means one thing everywhere.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Box:
    left: int
    top: int
    right: int
    bottom: int

    @property
    def width(self) -> int:
        return self.right - self.left

    @property
    def height(self) -> int:
        return self.bottom - self.top

    def as_tuple(self) -> tuple[int, int, int, int]:
        return (self.left, self.top, self.right, self.bottom)

    def inset(self, by: int) -> Box:
        return Box(self.left + by, self.top + by, self.right - by, self.bottom - by)


@dataclass(frozen=True)
class CardLayout:
    width: int
    height: int
    header: Box  # account, platform, rank and topic
    text: Box  # the draft, wrapped to fit
    hashtags: Box
    slot: Box  # best posting slot panel
    chart: Box  # engagement of the evidence posts
    footer: Box  # expected engagement and support

    @property
    def unit(self) -> int:
        """The base length for font sizes and gaps: 1/100 of the shorter side."""
        return max(1, min(self.width, self.height) // 100)


def card_layout(width: int, height: int) -> CardLayout:
    """Landscape: text left, slot and chart right. Square: slot and chart share the bottom row.
    Portrait: everything stacked."""
    u = max(1, min(width, height) // 100)
    margin = 5 * u
    gap = 3 * u
    header = Box(margin, margin, width - margin, margin + 12 * u)
    footer = Box(margin, height - margin - 7 * u, width - margin, height - margin)
    top = header.bottom + gap
    bottom = footer.top - gap
    left, right = margin, width - margin
    if width >= height * 1.2:
        split = left + int((right - left) * 0.58)
        hashtags = Box(left, bottom - 12 * u, split - gap, bottom)
        text = Box(left, top, split - gap, hashtags.top - gap)
        slot = Box(split + gap, top, right, top + 22 * u)
        chart = Box(split + gap, slot.bottom + gap, right, bottom)
    elif height >= width * 1.4:
        body = bottom - top
        text = Box(left, top, right, top + int(body * 0.42))
        hashtags = Box(left, text.bottom + gap, right, text.bottom + gap + 12 * u)
        slot = Box(left, hashtags.bottom + gap, right, hashtags.bottom + gap + 22 * u)
        chart = Box(left, slot.bottom + gap, right, bottom)
    else:
        row_top = bottom - int((bottom - top) * 0.40)
        split = left + int((right - left) * 0.40)
        slot = Box(left, row_top, split - gap // 2, bottom)
        chart = Box(split + gap // 2, row_top, right, bottom)
        hashtags = Box(left, row_top - gap - 10 * u, right, row_top - gap)
        text = Box(left, top, right, hashtags.top - gap)
    return CardLayout(width, height, header, text, hashtags, slot, chart, footer)
