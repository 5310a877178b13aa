"""The miner's console lines: bounded in length always, plain when output is not a terminal.

No line's length is a stranger's choice: bittensor itself logs parts of a request in some errors (a
malformed `bt_header_input_obj_*` header's whole name, at ERROR, before our refusal counting sees
the request), so every line is cut at MAX_LINE characters with the count of what was left out.

Plain lines when the miner's output is not a terminal (pm2, a file, a pipe).

bittensor's console formatter colours every line with ANSI escape codes, even into files
(BITTENSOR.md): log files and `pm2 logs` then hold escape sequences. When stdout is not a terminal,
the console handler's formatter is wrapped so its lines come out without them; its own formatting
(time, level, emoji) and bt.logging's trace switch keep working, since they stay with the formatter
that is wrapped.
"""

from __future__ import annotations

import logging
import re
from typing import Any

ANSI_ESCAPE = re.compile(r"\x1b\[[0-9;]*[A-Za-z]")


MAX_LINE = 2000  # characters of one line (a traceback's lines each count on their own)


def cut(line: str, limit: int = MAX_LINE) -> str:
    return line if len(line) <= limit else f"{line[:limit]}…(+{len(line) - limit} chars)"


class BoundedLines(logging.Formatter):
    """The inner formatter's lines, each cut at MAX_LINE, and without colour codes if `plain`."""

    def __init__(self, inner: logging.Formatter, *, plain: bool) -> None:
        super().__init__()
        self.inner = inner
        self.plain = plain

    def format(self, record: logging.LogRecord) -> str:
        text = self.inner.format(record)
        if self.plain:
            text = ANSI_ESCAPE.sub("", text)
        if len(text) <= MAX_LINE:
            return text
        return "\n".join(cut(line) for line in text.split("\n"))


def bound_console_lines(bt_logging: Any, *, plain: bool) -> bool:
    """Wrap the formatters of bt.logging's handlers; True if there was one to wrap.

    bt.logging keeps its handlers in the private `_handlers` list (bittensor 10.5). The file handler
    of `--logging.record_log` writes no colours: only cut."""
    wrapped = False
    for handler in getattr(bt_logging, "_handlers", []):
        formatter = handler.formatter
        if isinstance(handler, logging.StreamHandler) and formatter is not None \
                and not isinstance(formatter, BoundedLines):
            handler.setFormatter(BoundedLines(formatter, plain=plain and not isinstance(handler, logging.FileHandler)))
            wrapped = True
    return wrapped
