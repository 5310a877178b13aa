"""Decoding JSON that comes from outside (account files, exports): every way it can fail becomes
one `JsonInputError` with a short reason, so callers never see a RecursionError (deeply nested
arrays) or the integer-size ValueError (a number of thousands of digits) as a traceback."""

from __future__ import annotations

import json
from typing import Any


class JsonInputError(ValueError):
    def __init__(self, reason: str, line: int | None = None) -> None:
        super().__init__(reason)
        self.reason = reason
        self.line = line  # 1-based line of the problem, when known


def parse_json(text: str | bytes) -> Any:
    try:
        return json.loads(text)
    except json.JSONDecodeError as exc:
        raise JsonInputError(exc.msg, exc.lineno) from None
    except RecursionError:
        raise JsonInputError("nested too deeply") from None
    except ValueError:  # int() refuses numbers of more than 4,300 digits
        raise JsonInputError("a number is too long") from None
