"""Wrapping text to a box: the largest font size at which it fits, else truncated with '…'."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from .fonts import FontType

ELLIPSIS = "…"
LINE_SPACING = 1.25  # line height as a multiple of the font size


@dataclass(frozen=True)
class FittedText:
    lines: tuple[str, ...]
    font: FontType
    size: int
    line_height: int
    truncated: bool


def wrap(text: str, font: FontType, max_width: int) -> list[str]:
    """Greedy word wrap by measured width; keeps the author's line breaks; splits overlong words."""
    lines: list[str] = []
    for paragraph in text.replace("\r\n", "\n").split("\n"):
        words = paragraph.split()
        if not words:
            lines.append("")
            continue
        current = ""
        for word in words:
            candidate = f"{current} {word}" if current else word
            if font.getlength(candidate) <= max_width:
                current = candidate
                continue
            if current:
                lines.append(current)
            pieces = _split_word(word, font, max_width)
            lines.extend(pieces[:-1])
            current = pieces[-1]
        lines.append(current)
    while lines and not lines[-1]:
        lines.pop()
    return lines


def _split_word(word: str, font: FontType, max_width: int) -> list[str]:
    """A word wider than the box, cut into pieces that each fit (URLs, long hashtags)."""
    pieces: list[str] = []
    current = ""
    for char in word:
        if current and font.getlength(current + char) > max_width:
            pieces.append(current)
            current = char
        else:
            current += char
    pieces.append(current)
    return pieces


def fit_text(
    text: str,
    font_for_size: Callable[[int], FontType],
    width: int,
    height: int,
    *,
    max_size: int,
    min_size: int,
    step: int = 2,
) -> FittedText:
    """The largest size in [min_size, max_size] at which `text` fits the box; at `min_size`
    what does not fit is cut at the last line that fits, which ends with an ellipsis."""
    sizes = list(range(max_size, min_size - 1, -step)) or [min_size]

    def attempt(size: int) -> FittedText:
        font = font_for_size(size)
        line_height = max(1, round(size * LINE_SPACING))
        lines = wrap(text, font, width)
        capacity = max(1, height // line_height)
        if len(lines) <= capacity:
            return FittedText(tuple(lines), font, size, line_height, truncated=False)
        kept = lines[:capacity]
        kept[-1] = _with_ellipsis(kept[-1], font, width)
        return FittedText(tuple(kept), font, size, line_height, truncated=True)

    # Binary search for the largest size that fits: whether text fits only gets easier as the size
    # shrinks, and trying every size measured each word ~15 times per card (the top cost after PNG).
    low, high = 0, len(sizes) - 1  # sizes[low] is tried first (largest), sizes[high] is the smallest
    best: FittedText | None = None
    while low <= high:
        middle = (low + high) // 2
        fitted = attempt(sizes[middle])
        if fitted.truncated:
            low = middle + 1
        else:
            best, high = fitted, middle - 1
    return best if best is not None else attempt(sizes[-1])


def _with_ellipsis(line: str, font: FontType, width: int) -> str:
    trimmed = line.rstrip()
    while trimmed and font.getlength(trimmed + ELLIPSIS) > width:
        trimmed = trimmed[:-1].rstrip()
    return trimmed + ELLIPSIS


def fit_line(text: str, font_for_size: Callable[[int], FontType], width: int, *, max_size: int, min_size: int) -> tuple[str, FontType]:
    """One line: the largest size in [min_size, max_size] at which `text` is no wider than
    `width`; at `min_size`, `text` cut with an ellipsis."""
    for size in range(max_size, min_size - 1, -1):
        line_font = font_for_size(size)
        if line_font.getlength(text) <= width:
            return text, line_font
    line_font = font_for_size(min_size)
    return clip(text, line_font, width), line_font


def clip(text: str, line_font: FontType, width: int) -> str:
    """`text`, cut with an ellipsis if it is wider than `width`."""
    if width <= 0:
        return ""
    if line_font.getlength(text) <= width:
        return text
    return _with_ellipsis(text, line_font, width)
