"""The account key: one platform and one username, checked and normalised the same way everywhere.

Every account that enters the system (an AccountInfo file, a direct-mode flag, a synapse, a URL of
Module 2, a directory name under `exports/`) becomes an `AccountKey` through `AccountKey.parse`, and
every later use (stage lines, paths, job records, plans, images) takes its fields from the key:

    AccountKey.parse("X", " @ElonMusk ") == AccountKey("twitter", "elonmusk")

Usernames are checked against the platform's own rules (`PLATFORMS`). Those rules admit only
characters that are safe in a file name, so no path built from a key can leave the data directory;
`AccountKey.directory` checks that once more.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass
from pathlib import Path


class InvalidAccount(ValueError):
    """A platform or username that cannot be used; str() is the one-line reason."""


@dataclass(frozen=True)
class PlatformRules:
    """What a platform calls itself and what its usernames may look like."""

    name: str  # canonical, used in keys, paths and results
    display: str  # how messages name it, e.g. "X"
    aliases: tuple[str, ...]
    username_pattern: re.Pattern[str]  # whole-string match; file-name safe by construction
    username_rule: str  # the rule in words, for error messages
    max_username_length: int
    case_insensitive: bool  # usernames that differ only in case are one account


def _rules(name: str, display: str, pattern: str, rule: str, longest: int, *, aliases: tuple[str, ...] = (),
           case_insensitive: bool = True) -> PlatformRules:
    return PlatformRules(name, display, aliases, re.compile(pattern, re.ASCII), rule, longest, case_insensitive)


# One entry per platform, from each platform's own sign-up rules. Every pattern starts with a letter,
# digit or underscore and has no separator, so a key is always one safe path component.
PLATFORMS: dict[str, PlatformRules] = {rules.name: rules for rules in (
    # X: 1-15 ASCII letters, digits or underscores, anywhere (`_abc` and `abc_` are valid names).
    _rules("twitter", "X", r"[A-Za-z0-9_]{1,15}", "1-15 letters (A-Z), digits or underscores", 15,
           aliases=("x", "x.com", "twitter.com")),
    # Instagram and Threads (one account system): letters, digits, underscores and single periods,
    # not first or last.
    _rules("instagram", "Instagram", r"[A-Za-z0-9_](?:\.?[A-Za-z0-9_]){0,29}",
           "1-30 letters, digits, underscores or single periods (not first or last)", 30),
    _rules("threads", "Threads", r"[A-Za-z0-9_](?:\.?[A-Za-z0-9_]){0,29}",
           "1-30 letters, digits, underscores or single periods (not first or last)", 30),
    _rules("tiktok", "TikTok", r"[A-Za-z0-9_](?:\.?[A-Za-z0-9_]){1,23}",
           "2-24 letters, digits, underscores or single periods (not first or last)", 24),
    _rules("reddit", "Reddit", r"[A-Za-z0-9_][A-Za-z0-9_-]{2,19}", "3-20 letters, digits, underscores or hyphens", 20),
    _rules("youtube", "YouTube", r"[A-Za-z0-9_](?:[.-]?[A-Za-z0-9_]){2,29}",
           "3-30 letters, digits, underscores, single hyphens or periods (not first or last)", 30),
    _rules("linkedin", "LinkedIn", r"[A-Za-z0-9](?:-?[A-Za-z0-9]){2,99}",
           "3-100 letters, digits or single hyphens (not first or last)", 100),
    _rules("facebook", "Facebook", r"[A-Za-z0-9](?:\.?[A-Za-z0-9]){4,49}",
           "5-50 letters, digits or single periods (not first or last)", 50),
)}


def platform_rules(platform: object) -> PlatformRules:
    """The rules of `platform` (canonical name or alias, any case, spaces around ignored)."""
    if not isinstance(platform, str):
        raise InvalidAccount("platform must be a string")
    wanted = platform.strip().lower()
    for rules in PLATFORMS.values():
        if wanted == rules.name or wanted in rules.aliases:
            return rules
    raise InvalidAccount(f"unknown platform {shown(platform)} (known: {', '.join(sorted(PLATFORMS))})")


def normalise_username(rules: PlatformRules, username: object) -> str:
    """`username` without spaces around it or a leading '@', lower-cased where case does not
    matter, if it obeys the platform's rules; else InvalidAccount with the reason."""
    if not isinstance(username, str):
        raise InvalidAccount("username must be a string")
    name = username.strip()
    if name.startswith("@"):
        name = name[1:].strip()
    if not name:
        raise InvalidAccount("username is empty")
    if "\x00" in name:
        raise InvalidAccount("invalid username: contains a NUL byte")
    if len(name) > rules.max_username_length:
        raise InvalidAccount(f"invalid username: {len(name)} characters, {rules.display} allows at most "
                             f"{rules.max_username_length}")
    if not rules.username_pattern.fullmatch(name):
        raise InvalidAccount(f"invalid username {shown(name)}: {rules.display} usernames are {rules.username_rule}")
    return name.lower() if rules.case_insensitive else name


@dataclass(frozen=True, order=True)
class AccountKey:
    """One account. Build it with `parse`; the constructor only accepts what `parse` would return."""

    platform: str
    username: str

    def __post_init__(self) -> None:
        rules = platform_rules(self.platform)
        if rules.name != self.platform or normalise_username(rules, self.username) != self.username:
            raise InvalidAccount(f"not a normalised account key: {shown(self.platform)}/{shown(self.username)}")

    @staticmethod
    def parse(platform: object, username: object) -> AccountKey:
        """The key of `username` on `platform`, normalised; InvalidAccount with the reason."""
        rules = platform_rules(platform)
        return AccountKey(rules.name, normalise_username(rules, username))

    def is_named(self, name: object) -> bool:
        """True when `name` (as a source wrote it: any case, with or without '@') is this account's
        username on the same platform; False for anything else, including names the platform refuses."""
        try:
            return normalise_username(self.rules, name) == self.username
        except InvalidAccount:
            return False

    @property
    def rules(self) -> PlatformRules:
        return PLATFORMS[self.platform]

    @property
    def label(self) -> str:
        return f"{self.platform}/{self.username}"

    def directory(self, base: Path) -> Path:
        """`base/<platform>/<username>`, checked to lie inside `base` (lexically, so an operator's
        symlinked data directory still works)."""
        root = Path(os.path.abspath(base))
        candidate = Path(os.path.abspath(root / self.platform / self.username))
        if candidate == root or not candidate.is_relative_to(root):
            raise InvalidAccount(f"account path escapes {root}")
        return candidate


def shown(value: object, limit: int = 40) -> str:
    """A value for a one-line message: ASCII-escaped (control characters, lookalike letters) and cut."""
    text = ascii(value)
    return text if len(text) <= limit else text[: limit - 3] + "...'"
