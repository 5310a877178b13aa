"""The AccountInfo file: which account to process, and how.

An AccountInfo file is a small JSON object::

    {"platform": "twitter", "username": "elonmusk",
     "force_fresh": false, "source": "exports/tweets.js", "max_posts": 500}

`platform` and `username` are required; they become the account's key (`common.account`).
"""

from __future__ import annotations

import os
import stat
from collections.abc import Mapping
from pathlib import Path
from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError, ValidationInfo, field_validator

from content_miner.common.account import AccountKey, platform_rules
from content_miner.common.json_input import JsonInputError, parse_json

MAX_ACCOUNT_FILE_BYTES = 64 * 1024  # an AccountInfo file is a few lines; refuse anything huge


class AccountFileError(Exception):
    """An AccountInfo file or request that cannot be used; str() is the one-line reason."""


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
        return AccountKey.parse(platform, value).username

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
    def key(self) -> AccountKey:
        return AccountKey(self.platform, self.username)


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
