"""Plain log lines when the miner's output is not a terminal (pm2, a file, a pipe).

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


class PlainText(logging.Formatter):
    def __init__(self, inner: logging.Formatter) -> None:
        super().__init__()
        self.inner = inner

    def format(self, record: logging.LogRecord) -> str:
        return ANSI_ESCAPE.sub("", self.inner.format(record))


def plain_console_lines(bt_logging: Any) -> bool:
    """Wrap the formatter of bt.logging's console handler; True if there was one to wrap.

    bt.logging keeps its handlers in the private `_handlers` list (bittensor 10.5); the file
    handler of `--logging.record_log` is left alone: it writes no colours.
    """
    wrapped = False
    for handler in getattr(bt_logging, "_handlers", []):
        if isinstance(handler, logging.StreamHandler) and not isinstance(handler, logging.FileHandler):
            formatter = handler.formatter
            if formatter is not None and not isinstance(formatter, PlainText):
                handler.setFormatter(PlainText(formatter))
                wrapped = True
    return wrapped
