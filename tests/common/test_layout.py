"""The data directory layout: every path under one root, chosen the documented way."""

from __future__ import annotations

from pathlib import Path

from content_miner.common.account import AccountKey
from content_miner.common.layout import DataLayout


def test_flag_wins_over_environment_and_environment_over_default(tmp_path: Path) -> None:
    env = {"MINER_DATA_DIR": str(tmp_path / "from-env")}
    assert DataLayout.from_settings(tmp_path / "flag", env).root == tmp_path / "flag"
    assert DataLayout.from_settings(None, env).root == tmp_path / "from-env"
    assert DataLayout.from_settings(None, {"HOME": str(tmp_path)}).root.name == ".content-miner"


def test_status_file_override_moves_only_the_status_file(tmp_path: Path) -> None:
    paths = DataLayout.from_settings(tmp_path / "data", {"MINER_STATUS_FILE": str(tmp_path / "s" / "st.json")})
    assert paths.status_file == tmp_path / "s" / "st.json"
    assert paths.inbox == tmp_path / "data" / "AccountInfo"


def test_every_path_is_under_the_root(tmp_path: Path) -> None:
    paths = DataLayout(tmp_path / "data")
    key = AccountKey("twitter", "nasa")
    every = [paths.status_file, paths.stage_log, paths.inbox, paths.inbox_processing, paths.inbox_processed,
             paths.inbox_failed, paths.jobs, paths.module1_lock, paths.raw_cache, paths.vector_index,
             paths.exports, paths.images, paths.logs, paths.wallets, paths.run, paths.samples, paths.tool_files,
             paths.account_exports(key), paths.account_images(key), paths.account_raw_cache(key),
             paths.module_log("module1"), paths.endpoint_file("module2")]
    assert all(path.is_relative_to(paths.root) for path in every)
    assert len(set(every)) == len(every)
    assert not paths.root.exists(), "a layout creates nothing"
