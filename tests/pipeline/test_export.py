from __future__ import annotations

import csv
import io
import json
import threading
from datetime import datetime, timedelta, timezone
from pathlib import Path

import numpy as np
import pytest

from content_miner.common.atomic_files import write_text_atomic
from content_miner.common.layout import DataLayout
from content_miner.pipeline.embedding import load_embedder
from content_miner.pipeline.export import ExportError, export_plan
from content_miner.pipeline.export.calendar import fold
from content_miner.pipeline.export.charts import heatmap_grid, heatmap_png
from content_miner.pipeline.generation import generate_plan
from content_miner.pipeline.plan import SCHEMA_VERSION, ContentPlan
from content_miner.pipeline.sample_account import generate_sample_posts, load_sample_posts
from content_miner.pipeline.time_series import EngagementAnalysis, analyse

NOW = datetime(2025, 5, 8, 9, 30, tzinfo=timezone.utc)


@pytest.fixture(scope="module")
def planned() -> tuple[ContentPlan, EngagementAnalysis]:
    posts = load_sample_posts()
    vectors = load_embedder().embed([p.text for p in posts])
    analysis = analyse(posts, NOW, embeddings=vectors)
    plan = generate_plan(posts, vectors, analysis, platform="twitter", username="sample_maker",
                         now=NOW, provider="sample")
    return plan, analysis


def test_all_files_land_in_the_account_export_directory(planned, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    plan, analysis = planned
    files = export_plan(plan, analysis, DataLayout(tmp_path))
    assert files.directory == tmp_path / "exports" / "twitter" / "sample_maker"
    written = sorted(p for p in tmp_path.rglob("*") if p.is_file())
    assert written == sorted(files.all())  # nothing else, no temp file left behind
    assert ContentPlan.model_validate_json(files.plan_json.read_text()) == plan
    assert json.loads(files.plan_json.read_text())["schema_version"] == SCHEMA_VERSION == "2.0"
    for png in (files.heatmap_png, files.trend_png):
        assert png.read_bytes().startswith(b"\x89PNG\r\n\x1a\n")


def test_markdown_report_is_actionable(planned, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    plan, analysis = planned
    text = export_plan(plan, analysis, DataLayout(tmp_path)).markdown.read_text()
    assert text.startswith("# Content plan: sample_maker on twitter")
    for heading in ("## Summary", "## Best posting slots", "## Recommendations", "## Charts"):
        assert heading in text
    assert plan.recommendations[0].draft.splitlines()[0] in text
    assert "(engagement_heatmap.png)" in text


def test_calendars_cover_the_next_two_weeks(planned, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    plan, analysis = planned
    files = export_plan(plan, analysis, DataLayout(tmp_path))
    rows = list(csv.DictReader(io.StringIO(files.calendar_csv.read_text())))
    assert len(rows) == len(plan.recommendations)
    times = [datetime.fromisoformat(r["publish_at_utc"].replace("Z", "+00:00")) for r in rows]
    assert times == sorted(times) and NOW < times[0] and times[-1] < NOW + timedelta(days=14)

    raw = files.calendar_ics.read_bytes()
    assert raw.count(b"\n") == raw.count(b"\r\n")  # CRLF only
    lines = raw.split(b"\r\n")[:-1]
    assert all(len(line) <= 75 for line in lines)
    unfolded = raw.replace(b"\r\n ", b"").decode().split("\r\n")
    assert unfolded[0] == "BEGIN:VCALENDAR" and unfolded[-2] == "END:VCALENDAR"
    assert sum(line == "BEGIN:VEVENT" for line in unfolded) == len(rows)
    assert sum(line.startswith("UID:") for line in unfolded) == len(rows)
    starts = [line for line in unfolded if line.startswith("DTSTART:")]
    assert all(len(s) == len("DTSTART:20250508T130000Z") and s.endswith("Z") for s in starts)
    assert "DTSTAMP:20250508T093000Z" in unfolded


def test_folding_never_splits_a_character() -> None:
    line = "DESCRIPTION:" + "café ☕ " * 40
    folded = fold(line).encode()
    assert all(len(piece) <= 75 for piece in folded.split(b"\r\n"))
    assert folded.decode().replace("\r\n ", "") == line


def test_same_plan_gives_identical_files(planned, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    plan, analysis = planned
    first = {p.name: p.read_bytes() for p in export_plan(plan, analysis, DataLayout(tmp_path / "a")).all()}
    second = {p.name: p.read_bytes() for p in export_plan(plan, analysis, DataLayout(tmp_path / "b")).all()}
    assert first == second


@pytest.mark.parametrize("username", ["../escape", "a/b", "", ".hidden"])
def test_unsafe_account_names_are_refused(planned, tmp_path: Path, username: str) -> None:  # type: ignore[no-untyped-def]
    plan, analysis = planned
    bad = plan.model_copy(update={"username": username})
    with pytest.raises(ExportError, match="cannot export the plan of twitter/.*: (invalid username|username is empty)"):
        export_plan(bad, analysis, DataLayout(tmp_path))
    assert not any(tmp_path.iterdir())


def test_unwritable_directory_is_a_one_line_error(planned, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    plan, analysis = planned
    (tmp_path / "exports").write_text("a file where a directory should be")
    with pytest.raises(ExportError, match="cannot write the plan"):
        export_plan(plan, analysis, DataLayout(tmp_path))


def _race(target: Path, write) -> list[str]:  # type: ignore[no-untyped-def]
    """Rewrite `target` 200 times with two plans while a thread keeps parsing it; return parse failures."""
    done = threading.Event()
    failures: list[str] = []

    def read() -> None:
        while not done.is_set():
            try:
                ContentPlan.model_validate_json(target.read_bytes())
            except Exception as exc:  # a half-written file shows up here
                failures.append(repr(exc))

    reader = threading.Thread(target=read)
    reader.start()
    for i in range(200):
        write(i)
    done.set()
    reader.join()
    return failures


def test_a_polling_reader_never_sees_half_a_file(planned, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    plan, analysis = planned
    target = export_plan(plan, analysis, DataLayout(tmp_path)).plan_json
    bodies = [plan.model_dump_json(indent=2), plan.model_copy(update={"recommendations": []}).model_dump_json()]
    assert _race(target, lambda i: write_text_atomic(target, bodies[i % 2])) == []
    # the same race with a plain write does catch torn reads, so the check above can fail
    assert _race(target, lambda i: target.write_text(bodies[i % 2])) != []


def test_the_heatmap_shows_the_figure_slots_are_ranked_by() -> None:
    """The old heatmap coloured mean engagement but boxed slots ranked by another figure, so the boxes
    were not on its brightest cells. Now each cell is the slot's lower-bound lift, the ranking figure,
    and the boxed (claimed) slots are the brightest cells."""
    posts = generate_sample_posts(seed=4, n_posts=1200, days=240, boosted_hour=18, boost=3.0, time_rhythm=False)
    analysis = analyse(posts, posts[-1].created_at)
    grid = heatmap_grid(analysis)
    assert analysis.slots.claimed
    for effect in analysis.slots.ranked:
        assert grid[effect.weekday, effect.hour] == effect.lift_low
    shown = np.sort(grid[~np.isnan(grid)])[::-1]
    assert sorted((grid[e.weekday, e.hour] for e in analysis.slots.best), reverse=True) == list(
        shown[: len(analysis.slots.best)])
    assert heatmap_png(analysis, "t").startswith(b"\x89PNG")
