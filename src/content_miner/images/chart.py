"""A small bar chart of the evidence posts' engagement, drawn with Pillow (no matplotlib: ~50x faster)."""

from __future__ import annotations

from collections.abc import Sequence

from PIL import ImageDraw

from content_miner.pipeline.plan import EvidencePost

from .fonts import FontType, font
from .layout import Box
from .palette import Palette


def compact_number(value: float) -> str:
    """1234 -> '1.2k', 2500000 -> '2.5M', 12.5 -> '12'."""
    for threshold, suffix in ((1e9, "B"), (1e6, "M"), (1e3, "k")):
        if value >= threshold:
            scaled = value / threshold
            return f"{scaled:.1f}{suffix}" if scaled < 100 else f"{scaled:.0f}{suffix}"
    return f"{value:.0f}"


class EngagementChart:
    """Bars for the evidence posts in time order, with the account's mean as a dashed line."""

    def __init__(self, palette: Palette, unit: int) -> None:
        self._palette = palette
        self._unit = unit

    def draw(self, draw: ImageDraw.ImageDraw, box: Box, posts: Sequence[EvidencePost], account_mean: float) -> None:
        u, colors = self._unit, self._palette
        draw.rounded_rectangle(box.as_tuple(), radius=2 * u, fill=colors.panel)
        inner = box.inset(2 * u)
        title_font = font("bold", max(10, round(2.6 * u)))
        label_font = font("regular", max(9, round(2.2 * u)))
        draw.text(
            (inner.left, inner.top), f"Engagement of {len(posts)} supporting posts", font=title_font, fill=colors.ink
        )
        plot = Box(inner.left, inner.top + round(4.5 * u), inner.right, inner.bottom - round(3.5 * u))
        draw.line((plot.left, plot.bottom, plot.right, plot.bottom), fill=colors.muted, width=max(1, u // 3))
        ordered = sorted(posts, key=lambda post: (post.created_at, post.id))
        if not ordered or plot.height < 4 * u:
            draw.text((plot.left, plot.top + u), "No supporting posts", font=label_font, fill=colors.muted)
            return
        peak = max(max(post.engagement for post in ordered), account_mean, 1.0)
        scale = (plot.height - 3 * u) / peak
        slot_width = plot.width / len(ordered)
        bar_width = max(2, int(slot_width * 0.7))
        best = max(range(len(ordered)), key=lambda i: (ordered[i].engagement, -i))
        for index, post in enumerate(ordered):
            left = plot.left + int(index * slot_width + (slot_width - bar_width) / 2)
            top = plot.bottom - max(1, round(post.engagement * scale))
            fill = colors.accent_strong if index == best else colors.accent
            draw.rectangle((left, top, left + bar_width - 1, plot.bottom - 1), fill=fill)
        self._mean_line(draw, plot, plot.bottom - round(account_mean * scale), account_mean, label_font)
        draw.text((plot.left, plot.top - u), f"max {compact_number(peak)}", font=label_font, fill=colors.muted)
        first = ordered[0].created_at.strftime("%Y-%m-%d")
        last = ordered[-1].created_at.strftime("%Y-%m-%d")
        date_y = plot.bottom + round(0.8 * u)
        draw.text((plot.left, date_y), first, font=label_font, fill=colors.muted)
        if last != first:
            draw.text((plot.right, date_y), last, font=label_font, fill=colors.muted, anchor="ra")

    def _mean_line(self, draw: ImageDraw.ImageDraw, plot: Box, y: int, mean: float, label_font: FontType) -> None:
        """A dashed line at the account's mean, with its legend at the top right of the plot."""
        if mean <= 0:
            return
        u, color = self._unit, self._palette.warn
        dash, thickness = 2 * u, max(1, u // 3)
        for x in range(plot.left, plot.right, dash * 2):
            draw.line((x, y, min(x + dash, plot.right), y), fill=color, width=thickness)
        legend = f"account avg {compact_number(mean)}"
        legend_y = plot.top - u
        text_left = plot.right - int(label_font.getlength(legend))
        draw.text((plot.right, legend_y), legend, font=label_font, fill=color, anchor="ra")
        middle = legend_y + round(label_font.size * 0.6) if hasattr(label_font, "size") else legend_y
        draw.line((text_left - 4 * u, middle, text_left - 2 * u, middle), fill=color, width=thickness)
        draw.line((text_left - 7 * u, middle, text_left - 5 * u, middle), fill=color, width=thickness)
