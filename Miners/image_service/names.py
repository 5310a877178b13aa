"""Strict patterns for the names that become path parts: platform, username, recommendation id.

Every name that comes from a request or from a directory listing passes through here before it
touches the file system. The patterns admit no separator and no leading dot, so `..`, `a/b`,
`%2F`-decoded slashes and absolute paths are refused before any path is built; `safe_paths`
then checks the resolved path as a second, independent guard (symlinks).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

PLATFORM_PATTERN = re.compile(r"[a-z][a-z0-9_-]{0,31}")
USERNAME_PATTERN = re.compile(r"[A-Za-z0-9_][A-Za-z0-9_.-]{0,63}")
REC_ID_PATTERN = re.compile(r"[A-Za-z0-9][A-Za-z0-9_-]{0,63}")

_RULES = {
    "platform": (PLATFORM_PATTERN, "1-32 of a-z 0-9 _ -, starting with a letter"),
    "username": (USERNAME_PATTERN, "1-64 of A-Z a-z 0-9 _ . -, not starting with '.' or '-'"),
    "recommendation id": (REC_ID_PATTERN, "1-64 of A-Z a-z 0-9 _ -, starting with a letter or digit"),
}


class InvalidName(ValueError):
    """A name that may not become part of a path; the message is one line for the client."""


def check_name(kind: str, value: str) -> str:
    """Return `value` if it matches the strict pattern for `kind`, else raise `InvalidName`."""
    pattern, rule = _RULES[kind]
    if not pattern.fullmatch(value):
        shown = value if len(value) <= 80 else value[:77] + "..."
        raise InvalidName(f"invalid {kind} {shown!r}: expected {rule}")
    return value


@dataclass(frozen=True, order=True)
class AccountKey:
    """One account: a platform and a username, both checked against the strict patterns."""

    platform: str
    username: str

    def __post_init__(self) -> None:
        check_name("platform", self.platform)
        check_name("username", self.username)

    @property
    def label(self) -> str:
        return f"{self.platform}/{self.username}"
