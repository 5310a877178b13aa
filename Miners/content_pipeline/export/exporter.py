"""Stage 6, Exportation: write the plan's files under `<data_dir>/exports/<platform>/<username>/`.

Every file is written atomically. `content_plan.json` is written last: Module 2 polls for it,
so when it appears (or changes) the report, calendar and charts beside it are already current.
"""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass
from pathlib import Path

from atomic_files import write_bytes_atomic, write_text_atomic
from content_pipeline.export.calendar import render_csv, render_ics
from content_pipeline.export.charts import heatmap_png, trend_png
from content_pipeline.export.markdown import render_markdown
from content_pipeline.plan import ContentPlan
from content_pipeline.time_series import EngagementAnalysis
from miner_paths import EXPORTS

logger = logging.getLogger(__name__)

PLAN_JSON = "content_plan.json"
PLAN_MARKDOWN = "content_plan.md"
CALENDAR_CSV = "calendar.csv"
CALENDAR_ICS = "calendar.ics"
HEATMAP_PNG = "engagement_heatmap.png"
TREND_PNG = "engagement_trend.png"
_SAFE_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,127}$")


class ExportError(RuntimeError):
    """The plan cannot be written (unsafe account name, unwritable directory)."""


@dataclass(frozen=True)
class ExportedFiles:
    directory: Path
    plan_json: Path
    markdown: Path
    calendar_csv: Path
    calendar_ics: Path
    heatmap_png: Path
    trend_png: Path

    def all(self) -> tuple[Path, ...]:
        return (self.plan_json, self.markdown, self.calendar_csv, self.calendar_ics, self.heatmap_png, self.trend_png)


def export_directory(data_dir: Path, platform: str, username: str) -> Path:
    """`<data_dir>/exports/<platform>/<username>`; names that could leave that tree are refused."""
    for label, value in (("platform", platform), ("username", username)):
        if not _SAFE_NAME.match(value) or ".." in value:
            raise ExportError(f"unsafe {label} for a directory name: {value!r}")
    return Path(data_dir) / EXPORTS / platform / username


def export_plan(plan: ContentPlan, analysis: EngagementAnalysis, data_dir: Path) -> ExportedFiles:
    """Write the plan's JSON, Markdown, calendars and charts; return their paths."""
    folder = export_directory(data_dir, plan.platform, plan.username)
    files = ExportedFiles(
        directory=folder,
        plan_json=folder / PLAN_JSON,
        markdown=folder / PLAN_MARKDOWN,
        calendar_csv=folder / CALENDAR_CSV,
        calendar_ics=folder / CALENDAR_ICS,
        heatmap_png=folder / HEATMAP_PNG,
        trend_png=folder / TREND_PNG,
    )
    title = f"{plan.platform}/{plan.username}"
    try:
        write_bytes_atomic(files.heatmap_png, heatmap_png(analysis, title))
        write_bytes_atomic(files.trend_png, trend_png(analysis, title))
        write_text_atomic(files.calendar_csv, render_csv(plan))
        write_bytes_atomic(files.calendar_ics, render_ics(plan).encode("utf-8"))
        charts = {"Engagement by hour of week": HEATMAP_PNG, "Engagement per week": TREND_PNG}
        write_text_atomic(files.markdown, render_markdown(plan, analysis, charts))
        write_text_atomic(files.plan_json, plan.model_dump_json(indent=2))
    except OSError as exc:
        raise ExportError(f"cannot write the plan to {folder}: {exc.strerror or exc}") from exc
    logger.debug("exported %d files to %s", len(files.all()), folder)
    return files
