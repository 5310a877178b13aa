"""Every line the miner's console handler writes is bounded, whatever a message holds."""

from __future__ import annotations

import io
import logging

from content_miner.neuron.log_format import MAX_LINE, BoundedLines, bound_console_lines


class FakeBtLogging:
    def __init__(self, handler: logging.Handler) -> None:
        self._handlers = [handler]


def test_long_lines_are_cut_with_the_count_and_colours_go_when_plain() -> None:
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(logging.Formatter("\x1b[31m%(levelname)s\x1b[0m | %(message)s"))
    assert bound_console_lines(FakeBtLogging(handler), plain=True)
    assert not bound_console_lines(FakeBtLogging(handler), plain=True), "wrapped once only"
    logger = logging.getLogger("test_log_bounds")
    logger.propagate = False
    logger.addHandler(handler)
    logger.error("Error while parsing 'input_obj' header bt_header_input_obj_%s: x", "y" * 50_000)
    logger.error("short\nsecond line")
    lines = stream.getvalue().splitlines()
    assert len(lines[0]) < MAX_LINE + 40 and lines[0].endswith("chars)") and "…(+" in lines[0]
    assert lines[0].startswith("ERROR | Error while parsing")  # no colour codes: plain
    assert lines[1:] == ["ERROR | short", "second line"]


def test_a_terminal_keeps_its_colours() -> None:
    record = logging.LogRecord("x", logging.INFO, __file__, 1, "hello", None, None)
    formatter = BoundedLines(logging.Formatter("\x1b[32m%(message)s\x1b[0m"), plain=False)
    assert formatter.format(record) == "\x1b[32mhello\x1b[0m"
