"""Module 1's tools, `backtest` and `predict`, through the real entry point."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from filelock import FileLock

from content_miner.common.account import AccountKey
from content_miner.common.layout import DataLayout
from content_miner.pipeline.embedding import load_embedder
from content_miner.pipeline.engagement import formula_for
from content_miner.pipeline.engagement_model import fit_engagement_model
from content_miner.pipeline.sample_account import generate_sample_posts
from support.module1 import MAIN, module1_env, write_source


def _tool(data_dir: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, str(MAIN), *args, "--data-dir", str(data_dir)],
                          capture_output=True, text=True, timeout=240, env=module1_env())


def test_backtest_prints_its_table_and_writes_backtest_json_under_the_data_dir(tmp_path: Path) -> None:
    source = write_source(tmp_path / "export" / "posts.jsonl", posts=400)
    data = tmp_path / "data"
    result = _tool(data, "backtest", "--username", "Tester", "--source", str(source), "--holdout", "0.25")
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith("Back-test of twitter/tester: ")
    assert "| content ranking (model), Spearman |" in result.stdout and "NN-20" in result.stdout
    written = data / "exports" / "twitter" / "tester" / "backtest.json"
    assert result.stdout.rstrip().endswith(f"Back-test written to {written}")
    report = json.loads(written.read_text())
    assert report["future_posts"] == report["posts"] - report["past_posts"] and report["holdout"] == 0.25
    assert set(report) >= {"content_ranking", "slots", "formats", "intervals", "recency", "topics"}
    assert sorted(p.name for p in tmp_path.iterdir()) == ["data", "export"]  # nothing written elsewhere


def test_backtest_beside_a_running_module1_reuses_the_cache_and_leaves_the_index_alone(tmp_path: Path) -> None:
    source = write_source(tmp_path / "export" / "posts.jsonl", posts=200)
    data = tmp_path / "data"
    first = _tool(data, "backtest", "--username", "Tester", "--source", str(source))
    assert first.returncode == 0, first.stderr
    layout = DataLayout(data)
    index_files = {p: p.stat().st_mtime_ns for p in layout.vector_index.rglob("*") if p.is_file()}
    with FileLock(str(layout.module1_lock), timeout=5):  # as a running Module 1 holds it
        again = _tool(data, "backtest", "--username", "Tester", "--source", str(source))
    assert again.returncode == 0, again.stderr
    assert again.stdout.split("\n")[:-2] == first.stdout.split("\n")[:-2]  # the same vectors, the same table
    assert {p: p.stat().st_mtime_ns for p in layout.vector_index.rglob("*") if p.is_file()} == index_files


def test_predict_prints_one_json_line_per_post_with_the_50_percent_interval(tmp_path: Path) -> None:
    posts = generate_sample_posts(seed=5, n_posts=200, reply_share=0.3, reply_factor=0.2)
    embedder = load_embedder()
    model = fit_engagement_model(posts, embedder.embed([p.text for p in posts]), formula_for(posts).of(posts))
    layout = DataLayout(tmp_path / "data")
    model.save(layout.account_engagement_model(AccountKey("twitter", "tester")), embedder=embedder.name)
    drafts = tmp_path / "drafts.csv"
    drafts.write_text("text\nMorning espresso with a new grinder: sweet and balanced\n@maya_builds same here\n")
    result = _tool(layout.root, "predict", "--username", "tester", "--posts", str(drafts))
    assert result.returncode == 0, result.stderr
    lines = [json.loads(line) for line in result.stdout.splitlines()]
    assert [line["id"] for line in lines] == ["1", "2"]
    for line in lines:
        assert set(line) == {"id", "predicted_engagement", "low", "high"}
        assert 0 <= line["low"] <= line["predicted_engagement"] <= line["high"]
    assert lines[1]["predicted_engagement"] < lines[0]["predicted_engagement"]  # a reply, planted at 0.2x


def test_predict_without_a_model_says_how_to_make_one(tmp_path: Path) -> None:
    drafts = tmp_path / "drafts.jsonl"
    drafts.write_text('{"text": "hello"}\n')
    result = _tool(tmp_path / "data", "predict", "--username", "nobody", "--posts", str(drafts))
    assert result.returncode == 1 and result.stdout == ""
    assert result.stderr.startswith("main.py predict: no engagement model for twitter/nobody yet")
    assert len(result.stderr.splitlines()) == 1


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["backtest", "--username", "bad name", "--source", "x.csv"], "invalid username 'bad name'"),
        (["backtest", "--platform", "myspace", "--username", "tom", "--source", "x.csv"], "unknown platform"),
        (["backtest", "--username", "ok", "--source", "/nonexistent/tweets.js"], "--source file not found"),
        (["backtest", "--username", "ok", "--source", "x.csv", "--holdout", "0.9"], "--holdout must be between"),
        (["backtest", "--username", "ok"], "the following arguments are required: --source"),
        (["predict", "--username", "ok", "--posts", "/nonexistent.jsonl"], "--posts file not found"),
        (["predict", "--username", "ok", "--posts"], "expected one argument"),
    ],
)
def test_bad_arguments_are_refused_in_one_line_before_heavy_imports(tmp_path: Path, args: list[str],
                                                                    message: str) -> None:
    probe = (
        "import sys; from content_miner.pipeline.cli import main\n"
        f"code = main({args!r} + ['--data-dir', {str(tmp_path / 'data')!r}])\n"
        "heavy = [m for m in ('numpy', 'sklearn', 'chromadb', 'onnxruntime') if m in sys.modules]\n"
        "print(code, heavy)\n"
    )
    result = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, timeout=60,
                            env=module1_env(), cwd=tmp_path)
    assert result.returncode == 0 or result.returncode == 2, result.stderr
    assert "Traceback" not in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1 and message in result.stderr
    if result.stdout:  # main() returned (argparse's own errors exit inside it with code 2)
        assert result.stdout.strip() == "2 []"
    assert not (tmp_path / "data").exists()
