"""An account's plan, charts and images as the dashboard serves them: found, never written.

Paths come from the account key (`AccountKey.directory`: inside the data directory by construction)
and a file name that must look like one of ours (`NAME`): no separators, no dot files. A name that
resolves (through a symlink) outside its folder is refused too. The plan's Markdown is rendered by
markdown-it-py with raw HTML off, so the plan's text (which quotes posts from the network) cannot
add markup; its pictures are pointed at the dashboard's own file route, anything else is dropped.
"""

from __future__ import annotations

import os
import re
from collections.abc import Sequence
from pathlib import Path
from typing import Any
from urllib.parse import quote

from markdown_it import MarkdownIt
from markdown_it.renderer import RendererHTML
from markdown_it.token import Token
from markdown_it.utils import EnvType, OptionsDict

from content_miner.common.account import PLATFORMS, AccountKey, InvalidAccount
from content_miner.common.layout import DataLayout

NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]{0,99}")
KINDS = ("exports", "images")
PLAN_MARKDOWN = "content_plan.md"
MAX_PLAN_BYTES = 2 * 2**20
MAX_FILES = 100  # per folder listed


def keys_of(username: str) -> list[AccountKey]:
    """Every platform's key for `username` (the stage log names accounts without their platform)."""
    keys = []
    for platform in PLATFORMS:
        try:
            keys.append(AccountKey.parse(platform, username))
        except InvalidAccount:
            continue
    return keys


def folder(layout: DataLayout, kind: str, key: AccountKey) -> Path:
    return layout.account_exports(key) if kind == "exports" else layout.account_images(key)


def _pngs(directory: Path) -> list[str]:
    try:
        with os.scandir(directory) as entries:
            names = sorted(entry.name for entry in entries
                           if entry.name.endswith(".png") and NAME.fullmatch(entry.name) and entry.is_file())
    except OSError:
        return []
    return names[:MAX_FILES]


def account_files(layout: DataLayout, username: str) -> list[dict[str, Any]]:
    """Per platform the account has files on: whether there is a plan, its charts and its images."""
    found = []
    for key in keys_of(username):
        exports, images = folder(layout, "exports", key), folder(layout, "images", key)
        plan = (exports / PLAN_MARKDOWN).is_file()
        charts, cards = _pngs(exports), _pngs(images)
        if plan or charts or cards:
            found.append({"platform": key.platform, "plan": plan, "charts": charts, "images": cards,
                          "plan_mtime": _mtime(exports / PLAN_MARKDOWN) if plan else None})
    return found


def _mtime(path: Path) -> float | None:
    try:
        return path.stat().st_mtime
    except OSError:
        return None


def file_path(layout: DataLayout, kind: str, platform: str, username: str, name: str) -> Path | None:
    """The file to serve, or None (unknown kind or account, a name not like ours, not a file, or
    outside its folder)."""
    if kind not in KINDS or not NAME.fullmatch(name) or not name.endswith(".png"):
        return None
    try:
        key = AccountKey.parse(platform, username)
    except InvalidAccount:
        return None
    if key.platform != platform or key.username != username:
        return None
    base = folder(layout, kind, key)
    path = base / name
    try:
        if not path.is_file() or not Path(os.path.realpath(path)).is_relative_to(os.path.realpath(base)):
            return None
    except OSError:
        return None
    return path


def file_url(kind: str, key: AccountKey, name: str) -> str:
    return f"files/{kind}/{quote(key.platform)}/{quote(key.username)}/{quote(name)}"


def render_plan(layout: DataLayout, key: AccountKey) -> str | None:
    """The account's plan as HTML, or None without one. Raw HTML in it is shown as text."""
    path = folder(layout, "exports", key) / PLAN_MARKDOWN
    try:
        with path.open("rb") as plan:
            text = plan.read(MAX_PLAN_BYTES + 1)
    except OSError:
        return None
    cut = len(text) > MAX_PLAN_BYTES
    markdown = text[:MAX_PLAN_BYTES].decode("utf-8", "replace")
    if cut:
        markdown += "\n\n*(the plan is longer than 2 MB: the rest is not shown here)*\n"
    md = MarkdownIt("commonmark", {"html": False, "linkify": False, "typographer": False}).enable("table")
    md.add_render_rule("image", _image_rule(key))
    md.add_render_rule("link_open", _link_rule)
    return md.render(markdown)


def _image_rule(key: AccountKey) -> Any:
    def image(self: RendererHTML, tokens: Sequence[Token], index: int, options: OptionsDict, env: EnvType) -> str:
        token = tokens[index]
        source = str(token.attrGet("src") or "")
        if not (NAME.fullmatch(source) and source.endswith(".png")):
            return ""  # only the plan's own charts, beside it: nothing from elsewhere
        token.attrSet("src", file_url("exports", key, source))
        token.attrSet("loading", "lazy")
        return self.image(tokens, index, options, env)

    return image


def _link_rule(self: RendererHTML, tokens: Sequence[Token], index: int, options: OptionsDict, env: EnvType) -> str:
    tokens[index].attrSet("rel", "noopener noreferrer nofollow")
    tokens[index].attrSet("target", "_blank")
    return self.renderToken(tokens, index, options, env)
