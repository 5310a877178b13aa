"""The account key: one normalisation and one set of rules for every way an account enters."""

from __future__ import annotations

from pathlib import Path

import pytest

from content_miner.common.account import PLATFORMS, AccountKey, InvalidAccount


@pytest.mark.parametrize("platform, username", [
    ("twitter", "elonmusk"), ("X", "@ElonMusk"), (" x.com ", " @ELONMUSK "), ("Twitter", "@ elonmusk"),
])
def test_every_spelling_of_one_account_is_one_key(platform: str, username: str) -> None:
    assert AccountKey.parse(platform, username) == AccountKey("twitter", "elonmusk")


@pytest.mark.parametrize("username", ["_abc", "abc_", "_", "a_b_c_d_e_f_g_h", "123"])
def test_valid_x_names_with_underscores_anywhere_are_accepted(username: str) -> None:
    assert AccountKey.parse("twitter", username).username == username


@pytest.mark.parametrize("username", ["../../etc", "..", "a/b", "/abs", "nasa\x00", "", "@", "a" * 16, "a-b",
                                      "é", "a b"])
def test_hostile_or_invalid_usernames_are_refused_with_a_reason(username: str) -> None:
    with pytest.raises(InvalidAccount) as caught:
        AccountKey.parse("twitter", username)
    assert "\n" not in str(caught.value) and "username" in str(caught.value)


def test_unknown_platform_is_refused_naming_the_known_ones() -> None:
    with pytest.raises(InvalidAccount, match="unknown platform '../..' .known: facebook, instagram"):
        AccountKey.parse("../..", "nasa")


def test_the_constructor_accepts_only_normalised_keys() -> None:
    assert AccountKey("twitter", "nasa").label == "twitter/nasa"
    for platform, username in (("x", "nasa"), ("twitter", "NASA"), ("twitter", "@nasa")):
        with pytest.raises(InvalidAccount):
            AccountKey(platform, username)


def test_every_platform_rule_admits_only_path_safe_names() -> None:
    for rules in PLATFORMS.values():
        for name in ("..", ".", ".hidden", "a/b", "a\\b", "-a"):
            assert not rules.username_pattern.fullmatch(name), (rules.name, name)


def test_directory_is_inside_base(tmp_path: Path) -> None:
    base = tmp_path / "exports"
    path = AccountKey.parse("x", "@NASA").directory(base)
    assert path == base.absolute() / "twitter" / "nasa"
    assert path.is_relative_to(base.absolute())
