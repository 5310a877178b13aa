from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path

import pytest
from pydantic import ValidationError

from content_miner.pipeline.account import (
    AccountFileError,
    AccountRequest,
    load_account_file,
    parse_account,
)


def write(tmp_path: Path, content: str | bytes, name: str = "account.json") -> Path:
    path = tmp_path / name
    path.write_bytes(content if isinstance(content, bytes) else content.encode("utf-8"))
    return path


def test_valid_file_with_every_field(tmp_path: Path) -> None:
    path = write(tmp_path, json.dumps({
        "platform": "twitter", "username": "@Rust_Lang", "force_fresh": True,
        "source": "exports/tweets.js", "max_posts": 500,
    }))
    request = load_account_file(path)
    assert request.platform == "twitter"
    assert request.username == "rust_lang"  # the account key: "@" stripped, case folded (X names ignore case)
    assert request.force_fresh is True
    assert request.max_posts == 500
    # A relative source is relative to the account file, not to the working directory.
    assert request.source == str((tmp_path / "exports" / "tweets.js").absolute())


@pytest.mark.parametrize("platform", ["twitter", "x", "X", " Twitter "])
def test_platform_names_and_alias_become_twitter(platform: str) -> None:
    assert parse_account({"platform": platform, "username": "nasa"}).platform == "twitter"


def test_defaults() -> None:
    request = parse_account({"platform": "x", "username": "nasa"})
    assert (request.force_fresh, request.source, request.max_posts) == (False, None, None)


def test_request_is_frozen() -> None:
    request = parse_account({"platform": "x", "username": "nasa"})
    with pytest.raises(ValidationError, match="frozen_instance"):
        request.username = "other"  # type: ignore[misc]


@pytest.mark.parametrize(
    ("username", "reason"),
    [
        ("../../etc", "invalid username '../../etc'"),
        ("a/b", "invalid username 'a/b'"),
        ("a\\b", "invalid username"),
        ("nasa\x00evil", "invalid username: contains a NUL byte"),
        ("a" * 16, "invalid username: 16 characters, X allows at most 15"),
        ("x" * 10_000, "invalid username: 10000 characters"),
        ("elonmus\u043a", "invalid username 'elonmus\\u043a'"),  # Cyrillic ka, a lookalike
        ("\uff4e\uff41\uff53\uff41", "invalid username"),  # full-width "nasa"
        ("na\nsa", "invalid username"),
        ("", "username is empty"),
        ("@", "username is empty"),
        ("na sa", "invalid username"),
        (".", "invalid username"),
    ],
)
def test_hostile_usernames_are_refused_with_one_line(
    tmp_path: Path, username: str, reason: str
) -> None:
    path = write(tmp_path, json.dumps({"platform": "twitter", "username": username}))
    with pytest.raises(AccountFileError) as caught:
        load_account_file(path)
    message = str(caught.value)
    assert message.startswith(reason)
    assert "\n" not in message and "\x00" not in message and len(message) < 200


@pytest.mark.parametrize(
    ("content", "reason"),
    [
        ('{"username": "nasa"}', "missing field 'platform'"),
        ('{"platform": "twitter"}', "missing field 'username'"),
        ('{"platform": "myspace", "username": "nasa"}',
         "unknown platform 'myspace' "
         "(known: facebook, instagram, linkedin, reddit, threads, tiktok, twitter, youtube)"),
        ('{"platform": 7, "username": "nasa"}', "platform must be a string"),
        ('{"platform": "x", "username": 42}', "username must be a string"),
        ('{"platform": "x", "username": "nasa"', "account file is not valid JSON (line 1"),
        ("", "account file is not valid JSON"),
        ('["x", "nasa"]', "account file must hold a JSON object"),
        ('{"platform": "x", "username": "nasa", "max_posts": 0}', "invalid max_posts"),
        ('{"platform": "x", "username": "nasa", "max_posts": 100001}', "invalid max_posts"),
        ('{"platform": "x", "username": "nasa", "max_posts": "50"}', "invalid max_posts"),
        ('{"platform": "x", "username": "nasa", "force_fresh": "maybe"}', "invalid force_fresh"),
        ('{"platform": "x", "username": "nasa", "source": "  "}', "invalid source: source is empty"),
        ("[" * 60_000, "account file is not valid JSON (nested too deeply)"),
        ('{"platform": "x", "username": "nasa", "max_posts": ' + "9" * 5000 + "}",
         "account file is not valid JSON (a number is too long)"),
    ],
)
def test_bad_files_give_one_line_reasons(tmp_path: Path, content: str, reason: str) -> None:
    path = write(tmp_path, content)
    with pytest.raises(AccountFileError) as caught:
        load_account_file(path)
    assert str(caught.value).startswith(reason)
    assert "\n" not in str(caught.value)


def test_a_fifo_is_refused_without_blocking(tmp_path: Path) -> None:
    fifo = tmp_path / "account.json"
    os.mkfifo(fifo)  # nobody writes to it: opening it for reading would block
    with pytest.raises(AccountFileError, match="not a regular file"):
        load_account_file(fifo)


def test_encodings(tmp_path: Path) -> None:
    body = '{"platform": "x", "username": "nasa"}'
    assert load_account_file(write(tmp_path, b"\xef\xbb\xbf" + body.encode())).username == "nasa"
    with pytest.raises(AccountFileError, match="not UTF-8"):
        load_account_file(write(tmp_path, '{"platform": "x", "username": "caf\xe9"}'.encode("latin-1")))


def test_missing_and_oversized_files(tmp_path: Path) -> None:
    with pytest.raises(AccountFileError, match="account file not found"):
        load_account_file(tmp_path / "absent.json")
    with pytest.raises(AccountFileError, match="larger than"):
        load_account_file(write(tmp_path, "{" + " " * 70_000 + "}"))


def test_loading_never_changes_the_file(tmp_path: Path) -> None:
    path = write(tmp_path, '{"platform": "X", "username": "@NASA", "source": "a.csv"}')
    before = hashlib.sha256(path.read_bytes()).hexdigest()
    load_account_file(path)
    assert hashlib.sha256(path.read_bytes()).hexdigest() == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["account.json"]


def test_model_validates_directly() -> None:
    assert AccountRequest(platform="x", username="@nasa").username == "nasa"
