"""Stage 6, Exportation: write the plan's files under `<data_dir>/exports/<platform>/<username>/`.

Every file is written atomically. `content_plan.json` is written last: Module 2 polls for it,
so when it appears (or changes) the report, calendar and charts beside it are already current.
"""

from __future__ import annotations

import dataclasses
import logging
from dataclasses import dataclass
from pathlib import Path

from content_miner.common.account import AccountKey, InvalidAccount
from content_miner.common.atomic_files import write_bytes_atomic, write_text_atomic
from content_miner.common.layout import DataLayout
from content_miner.pipeline.export.calendar import render_csv, render_ics
from content_miner.pipeline.export.charts import heatmap_png, trend_png
from content_miner.pipeline.export.markdown import render_markdown
from content_miner.pipeline.plan import ContentPlan, plan_fingerprint
from content_miner.pipeline.time_series import EngagementAnalysis

logger = logging.getLogger(__name__)

PLAN_JSON = "content_plan.json"
PLAN_MARKDOWN = "content_plan.md"
CALENDAR_CSV = "calendar.csv"
CALENDAR_ICS = "calendar.ics"
HEATMAP_PNG = "engagement_heatmap.png"
TREND_PNG = "engagement_trend.png"


class ExportError(RuntimeError):
    """The plan cannot be written (an invalid account key, an unwritable directory)."""


@dataclass(frozen=True)
class ExportedFiles:
    directory: Path
    plan_json: Path
    markdown: Path
    calendar_csv: Path
    calendar_ics: Path
    heatmap_png: Path
    trend_png: Path
    plan_sha256: str = ""  # of content_plan.json as written: the plan's fingerprint (Module 2 serves it)

    def all(self) -> tuple[Path, ...]:
        return (self.plan_json, self.markdown, self.calendar_csv, self.calendar_ics, self.heatmap_png, self.trend_png)


def export_directory(layout: DataLayout, platform: str, username: str) -> Path:
    """`<data_dir>/exports/<platform>/<username>` of the plan's account key."""
    try:
        return layout.account_exports(AccountKey.parse(platform, username))
    except InvalidAccount as exc:
        raise ExportError(f"cannot export the plan of {platform}/{username}: {exc}") from None


def export_plan(plan: ContentPlan, analysis: EngagementAnalysis, layout: DataLayout) -> ExportedFiles:
    """Write the plan's JSON, Markdown, calendars and charts; return their paths."""
    folder = export_directory(layout, plan.platform, plan.username)
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
        plan_bytes = plan.model_dump_json(indent=2).encode("utf-8")
        write_bytes_atomic(files.plan_json, plan_bytes)
    except OSError as exc:
        raise ExportError(f"cannot write the plan to {folder}: {exc.strerror or exc}") from exc
    logger.debug("exported %d files to %s", len(files.all()), folder)
    return dataclasses.replace(files, plan_sha256=plan_fingerprint(plan_bytes))
