"""Reading a local export as text, with the encodings that real exports use.

Accepted: UTF-8 with or without a byte-order mark, and UTF-16 (LE or BE) with a byte-order mark
(what some Windows tools write when "Unicode" is chosen). Anything else is refused with a reason
rather than guessed at: a wrong guess would silently corrupt every post's text.
"""

from __future__ import annotations

import codecs
from pathlib import Path

from content_miner.pipeline.scraping.base import ScrapeError

MAX_SOURCE_BYTES = 512 * 1024 * 1024  # far above any real account's export


def read_source_text(path: Path) -> str:
    """The decoded text of `path` (opened read-only); ScrapeError with a one-line reason."""
    try:
        size = path.stat().st_size
        if size > MAX_SOURCE_BYTES:
            raise ScrapeError(f"source file {path.name} is too large ({size} bytes)")
        raw = path.read_bytes()
    except FileNotFoundError:
        raise ScrapeError(f"source file not found: {path}") from None
    except IsADirectoryError:
        raise ScrapeError(f"source is a directory, not a file: {path}") from None
    except OSError as exc:
        raise ScrapeError(f"cannot read source file {path}: {exc.strerror or exc}") from None
    return decode_source(raw, path.name)


def decode_source(raw: bytes, label: str) -> str:
    if raw.startswith((codecs.BOM_UTF32_LE, codecs.BOM_UTF32_BE)):
        # Checked first: the UTF-32 LE mark begins with the UTF-16 LE one.
        raise ScrapeError(f"{label} is UTF-32; save it as UTF-8 or UTF-16 with a byte-order mark")
    if raw.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        encoding = "utf-16"  # the codec reads the mark and strips it
    else:
        encoding = "utf-8-sig"  # strips a UTF-8 mark when there is one
    try:
        text = raw.decode(encoding)
    except UnicodeDecodeError as exc:
        name = "UTF-16" if encoding == "utf-16" else "UTF-8"
        raise ScrapeError(
            f"{label} is not valid {name} (bad byte at offset {exc.start}); "
            "expected UTF-8, or UTF-16 with a byte-order mark"
        ) from None
    if "\x00" in text:
        # Valid UTF-8 never needs NUL in text exports; UTF-16 without a mark decodes to this.
        raise ScrapeError(
            f"{label} contains NUL characters (UTF-16 without a byte-order mark?); "
            "expected UTF-8, or UTF-16 with a byte-order mark"
        )
    return text
