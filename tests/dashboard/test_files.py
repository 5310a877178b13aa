"""An account's plan is rendered without markup from its text, and only its own files are served."""

from __future__ import annotations

import os
from pathlib import Path

from content_miner.common.account import AccountKey
from content_miner.common.layout import DataLayout
from content_miner.dashboard.files import account_files, file_path, render_plan

KEY = AccountKey("twitter", "someone")
PLAN = """# Content plan: someone

<script>alert("from a post")</script> <img src=x onerror=alert(1)>

[click](javascript:alert(1)) and [docs](https://example.com/a)

![Engagement by hour](engagement_heatmap.png)
![tracker](https://tracker.example/pixel.png)
![escape](../../../etc/passwd.png)

| a | b |
|---|---|
| 1 | 2 |
"""


def _layout(tmp_path: Path) -> DataLayout:
    layout = DataLayout(tmp_path / "data")
    exports = layout.account_exports(KEY)
    exports.mkdir(parents=True)
    (exports / "content_plan.md").write_text(PLAN)
    (exports / "engagement_heatmap.png").write_bytes(b"\x89PNG chart")
    images = layout.account_images(KEY)
    images.mkdir(parents=True)
    (images / "rec-01.png").write_bytes(b"\x89PNG card")
    (tmp_path / "outside.png").write_bytes(b"secret")
    os.symlink(tmp_path / "outside.png", images / "rec-02.png")
    return layout


def test_the_plan_is_rendered_with_its_text_as_text(tmp_path: Path) -> None:
    html = render_plan(_layout(tmp_path), KEY)
    assert html is not None
    assert "<script" not in html and "<img src=x" not in html and "&lt;script&gt;" in html
    assert 'href="javascript' not in html  # markdown-it refuses the link: it stays text
    assert 'href="https://example.com/a" rel="noopener noreferrer nofollow"' in html
    assert 'src="files/exports/twitter/someone/engagement_heatmap.png"' in html
    assert "tracker.example" not in html and "passwd" not in html
    assert "<table>" in html
    assert render_plan(_layout(tmp_path / "other"), AccountKey("twitter", "nobody")) is None


def test_only_the_accounts_own_pictures_are_served(tmp_path: Path) -> None:
    layout = _layout(tmp_path)
    [found] = account_files(layout, "someone")
    assert found == {"platform": "twitter", "plan": True, "charts": ["engagement_heatmap.png"],
                     "images": ["rec-01.png", "rec-02.png"], "plan_mtime": found["plan_mtime"]}
    assert file_path(layout, "images", "twitter", "someone", "rec-01.png") is not None
    assert file_path(layout, "exports", "twitter", "someone", "engagement_heatmap.png") is not None
    assert file_path(layout, "images", "twitter", "someone", "rec-02.png") is None  # a symlink out of its folder
    for kind, platform, user, name in [("images", "twitter", "someone", "../../../outside.png"),
                                       ("images", "twitter", "../someone", "rec-01.png"),
                                       ("images", "twitter", "SOMEONE", "rec-01.png"),
                                       ("exports", "twitter", "someone", "content_plan.md"),
                                       ("logs", "twitter", "someone", "rec-01.png"),
                                       ("images", "myspace", "someone", "rec-01.png")]:
        assert file_path(layout, kind, platform, user, name) is None, (kind, platform, user, name)
