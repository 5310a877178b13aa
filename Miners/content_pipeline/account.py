"""The AccountInfo file: which account to process, and how.

An AccountInfo file is a small JSON object::

    {"platform": "twitter", "username": "elonmusk",
     "force_fresh": false, "source": "exports/tweets.js", "max_posts": 500}

`platform` and `username` are required. Usernames are checked against the platform's own rules
(`PLATFORMS`), and those rules admit only characters that are safe in a file name, so no path
built from a username can leave the data directory; `account_dir` checks that once more.
"""

from __future__ import annotations

import os
import re
import stat
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError, ValidationInfo, field_validator

from content_pipeline.json_input import JsonInputError, parse_json

MAX_ACCOUNT_FILE_BYTES = 64 * 1024  # an AccountInfo file is a few lines; refuse anything huge


class AccountFileError(Exception):
    """An AccountInfo file or request that cannot be used; str() is the one-line reason."""


@dataclass(frozen=True)
class PlatformRules:
    """What a platform calls itself and what its usernames may look like."""

    name: str  # canonical, used in paths and results
    display: str  # how messages name it, e.g. "X"
    aliases: tuple[str, ...]
    username_pattern: re.Pattern[str]  # whole-string match; file-name safe by construction
    username_rule: str  # the rule in words, for error messages
    max_username_length: int
    case_insensitive: bool  # usernames that differ only in case are one account

    def path_key(self, username: str) -> str:
        """The username as it appears in paths: one directory per account, whatever the case."""
        return username.lower() if self.case_insensitive else username


# One entry per platform. X: 1-15 ASCII letters, digits or underscores (X's signup rules).
PLATFORMS: dict[str, PlatformRules] = {
    "twitter": PlatformRules(
        name="twitter",
        display="X",
        aliases=("x", "x.com", "twitter.com"),
        username_pattern=re.compile(r"[A-Za-z0-9_]{1,15}", re.ASCII),
        username_rule="1-15 letters (A-Z), digits or underscores",
        max_username_length=15,
        case_insensitive=True,
    ),
}


def platform_rules(platform: str) -> PlatformRules:
    """The rules of `platform` (canonical name or alias, any case); ValueError if unknown."""
    if not isinstance(platform, str):
        raise ValueError("platform must be a string")
    wanted = platform.strip().lower()
    for rules in PLATFORMS.values():
        if wanted == rules.name or wanted in rules.aliases:
            return rules
    known = ", ".join(sorted(PLATFORMS))
    raise ValueError(f"unknown platform {_shown(platform)} (known: {known})")


def check_username(rules: PlatformRules, username: object) -> str:
    """`username` without a leading '@', if it obeys the platform's rules; else ValueError."""
    if not isinstance(username, str):
        raise ValueError("username must be a string")
    name = username.strip()
    if name.startswith("@"):
        name = name[1:]
    if not name:
        raise ValueError("username is empty")
    if "\x00" in name:
        raise ValueError("invalid username: contains a NUL byte")
    if len(name) > rules.max_username_length:
        raise ValueError(
            f"invalid username: {len(name)} characters, {rules.display} allows at most "
            f"{rules.max_username_length}"
        )
    if not rules.username_pattern.fullmatch(name):
        raise ValueError(
            f"invalid username {_shown(name)}: {rules.display} usernames are {rules.username_rule}"
        )
    return name


def _shown(value: object, limit: int = 40) -> str:
    """A value for a one-line message, ASCII-escaped and cut short."""
    text = ascii(value)  # escapes control characters and shows lookalike letters as \u escapes
    return text if len(text) <= limit else text[: limit - 3] + "...'"


class AccountRequest(BaseModel):
    """One account to process, as validated from an AccountInfo file or the command line."""

    model_config = ConfigDict(frozen=True, extra="ignore")

    platform: str
    username: str
    force_fresh: bool = False
    source: str | None = None  # a local export to import instead of scraping live
    max_posts: Annotated[int, Field(strict=True, ge=1, le=100_000)] | None = None

    @field_validator("platform", mode="before")
    @classmethod
    def _canonical_platform(cls, value: Any) -> str:
        return platform_rules(value).name

    @field_validator("username", mode="before")
    @classmethod
    def _valid_username(cls, value: Any, info: ValidationInfo) -> str:
        # `platform` is declared first, so it is already canonical here (absent if it failed).
        platform = info.data.get("platform")
        if platform is None:
            raise ValueError("username cannot be checked without a known platform")
        return check_username(PLATFORMS[platform], value)

    @field_validator("source")
    @classmethod
    def _usable_source(cls, value: str | None) -> str | None:
        if value is None:
            return None
        if not value.strip():
            raise ValueError("source is empty")
        if "\x00" in value:
            raise ValueError("source contains a NUL byte")
        return value

    @property
    def rules(self) -> PlatformRules:
        return PLATFORMS[self.platform]


def parse_account(data: Mapping[str, Any]) -> AccountRequest:
    """An AccountRequest from already-decoded data; AccountFileError with a one-line reason."""
    try:
        return AccountRequest.model_validate(dict(data))
    except ValidationError as exc:
        raise AccountFileError(_first_problem(exc)) from None


def load_account_file(
    path: str | os.PathLike[str], *, relative_to: str | os.PathLike[str] | None = None
) -> AccountRequest:
    """Read and validate one AccountInfo file. The file is only read, never changed.

    A relative `source` is taken relative to `relative_to`, else the file's own directory.
    """
    path = Path(path)
    try:
        # O_NONBLOCK: a FIFO dropped in the inbox must not block the loop on open().
        with open(os.open(path, os.O_RDONLY | os.O_NONBLOCK), "rb") as handle:
            if not stat.S_ISREG(os.fstat(handle.fileno()).st_mode):
                raise AccountFileError(f"account file is not a regular file: {path.name}")
            raw = handle.read(MAX_ACCOUNT_FILE_BYTES + 1)
    except FileNotFoundError:
        raise AccountFileError(f"account file not found: {path}") from None
    except OSError as exc:
        raise AccountFileError(f"cannot read account file {path}: {exc.strerror or exc}") from None
    if len(raw) > MAX_ACCOUNT_FILE_BYTES:
        raise AccountFileError(f"account file is larger than {MAX_ACCOUNT_FILE_BYTES} bytes")
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        reason = f"account file is not UTF-8 (bad byte at offset {exc.start})"
        raise AccountFileError(reason) from None
    try:
        data = parse_json(text)
    except JsonInputError as exc:
        where = f"line {exc.line}: " if exc.line else ""
        raise AccountFileError(f"account file is not valid JSON ({where}{exc.reason})") from None
    if not isinstance(data, dict):
        raise AccountFileError("account file must hold a JSON object")
    request = parse_account(data)
    if request.source is not None and not Path(request.source).is_absolute():
        resolved = (Path(relative_to or path.parent) / request.source).absolute()
        request = request.model_copy(update={"source": str(resolved)})
    return request


def account_dir(base: Path, platform: str, username: str) -> Path:
    """`base/<platform>/<username>` for a valid account; ValueError otherwise.

    The result is checked to lie inside `base` (lexically, so an operator's symlinked data
    directory still works). Usernames of case-insensitive platforms are lower-cased, so one
    account always maps to one directory.
    """
    rules = platform_rules(platform)
    name = rules.path_key(check_username(rules, username))
    root = Path(os.path.abspath(base))
    candidate = Path(os.path.abspath(root / rules.name / name))
    if candidate == root or not candidate.is_relative_to(root):
        raise ValueError(f"account path escapes {root}")
    return candidate


def _first_problem(exc: ValidationError) -> str:
    """One line for the first thing pydantic rejected: 'missing field ...' or the field's reason."""
    error = exc.errors(include_url=False, include_input=False)[0]
    field = ".".join(str(part) for part in error["loc"]) or "account"
    if error["type"] == "missing":
        return f"missing field '{field}'"
    message = str(error["msg"]).removeprefix("Value error, ")
    if field in ("platform", "username"):
        return message
    return f"invalid {field}: {message}"
