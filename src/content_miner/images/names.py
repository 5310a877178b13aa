"""The strict pattern for recommendation ids, which become file names of images.

Account names are checked by the account key (`content_miner.common.account`); this checks the
other name that reaches the file system. The pattern admits no separator and no leading dot, so
`..`, `a/b` and absolute paths are refused before any path is built; `safe_paths` then checks the
resolved path as a second, independent guard (symlinks).
"""

from __future__ import annotations

import re

from content_miner.common.account import InvalidAccount

REC_ID_PATTERN = re.compile(r"[A-Za-z0-9][A-Za-z0-9_-]{0,63}")
REC_ID_RULE = "1-64 of A-Z a-z 0-9 _ -, starting with a letter or digit"


class InvalidName(ValueError):
    """A name that may not become part of a path; the message is one line for the client."""


def check_name(kind: str, value: str) -> str:
    """Return `value` if it is a valid recommendation id, else raise `InvalidName`."""
    if kind != "recommendation id":
        raise ValueError(f"no name rule for {kind!r}")
    if not REC_ID_PATTERN.fullmatch(value):
        shown = value if len(value) <= 80 else value[:77] + "..."
        raise InvalidName(f"invalid {kind} {shown!r}: expected {REC_ID_RULE}")
    return value


__all__ = ["InvalidAccount", "InvalidName", "check_name"]
