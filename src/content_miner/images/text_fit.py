"""Wrapping text to a box: the largest font size at which it fits, else truncated with '…'."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from .fonts import FontType

ELLIPSIS = "…"
LINE_SPACING = 1.25  # line height as a multiple of the font size
# The narrowest glyph with any width in DejaVu Sans, as a fraction of the font size: U+200A (hair
# space) is 0.1 em; the narrowest ASCII glyphs (' i j l) are 0.27 em. So a line `width` pixels wide
# never holds more than width / (0.1 * size) visible characters, and text past that budget cannot
# be drawn anyway. Cutting to it before measuring bounds the work: a 1 MB draft took 25 s per card
# (and a 1 MB unbroken word 104 s) when all of it was wrapped only to keep the first few lines.
NARROWEST_GLYPH_EM = 0.1


@dataclass(frozen=True)
class FittedText:
    lines: tuple[str, ...]
    font: FontType
    size: int
    line_height: int
    truncated: bool


def wrap(text: str, font: FontType, max_width: int, *, max_lines: int | None = None) -> list[str]:
    """Greedy word wrap by measured width; keeps the author's line breaks; splits overlong words.
    With `max_lines`, stops once there are more lines than that (the caller only needs to know)."""
    lines: list[str] = []
    for paragraph in text.rstrip().replace("\r\n", "\n").split("\n"):
        if max_lines is not None and len(lines) > max_lines:
            return lines
        words = paragraph.split()
        if not words:
            lines.append("")
            continue
        current = ""
        for word in words:
            if max_lines is not None and len(lines) > max_lines:
                return lines
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
    """A word wider than the box, cut into pieces that each fit (URLs, long hashtags).

    Each piece is the longest prefix that fits, found by bisection: measuring one more character
    at a time cost a measurement per character of the word."""
    pieces: list[str] = []
    rest = word
    while rest:
        low, high = 1, len(rest)  # at least one character per piece, even if it alone is too wide
        while low < high:
            middle = (low + high + 1) // 2
            if font.getlength(rest[:middle]) <= max_width:
                low = middle
            else:
                high = middle - 1
        pieces.append(rest[:low])
        rest = rest[low:]
    return pieces or [""]


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
        capacity = max(1, height // line_height)
        shown = text[: capacity * (max_chars_per_line(width, size) + 1)]  # +1: the break ending each line
        lines = wrap(shown, font, width, max_lines=capacity)
        if len(lines) <= capacity and len(shown) == len(text):
            return FittedText(tuple(lines), font, size, line_height, truncated=False)
        kept = lines[:capacity] or [""]
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


def max_chars_per_line(width: int, size: int) -> int:
    """More characters than any `width`-pixel line at `size` can show (see NARROWEST_GLYPH_EM)."""
    return int(max(0, width) / max(1.0, NARROWEST_GLYPH_EM * size)) + 1


def _with_ellipsis(line: str, font: FontType, width: int) -> str:
    """The longest start of `line` that fits `width` with an ellipsis after it (found by bisection)."""
    low, high = 0, len(line)
    while low < high:
        middle = (low + high + 1) // 2
        if font.getlength(line[:middle].rstrip() + ELLIPSIS) <= width:
            low = middle
        else:
            high = middle - 1
    return line[:low].rstrip() + ELLIPSIS


def fit_line(
    text: str, font_for_size: Callable[[int], FontType], width: int, *, max_size: int, min_size: int
) -> tuple[str, FontType]:
    """One line: the largest size in [min_size, max_size] at which `text` is no wider than
    `width`; at `min_size`, `text` cut with an ellipsis."""
    for size in range(max_size, min_size - 1, -1):
        line_font = font_for_size(size)
        if len(text) <= max_chars_per_line(width, size) and line_font.getlength(text) <= width:
            return text, line_font
    line_font = font_for_size(min_size)
    return clip(text, line_font, width, size=min_size), line_font


def clip(text: str, line_font: FontType, width: int, *, size: int) -> str:
    """`text`, cut with an ellipsis if it is wider than `width` at `size`."""
    if width <= 0:
        return ""
    shown = text[: max_chars_per_line(width, size)]
    if len(shown) == len(text) and line_font.getlength(text) <= width:
        return text
    return _with_ellipsis(shown, line_font, width)
