"""PNG charts for the report: engagement by weekday x hour, and engagement per week.

Figures are drawn with the Agg canvas directly (no pyplot, no global backend switch, nothing
shown on screen) and returned as bytes, so the exporter writes them atomically.
"""

from __future__ import annotations

import io
from datetime import timedelta

import numpy as np
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from matplotlib.patches import Rectangle

from content_miner.pipeline.plan import WEEKDAYS
from content_miner.pipeline.time_series import EngagementAnalysis

# No "Software" or date chunk: the same analysis gives byte-identical files.
_PNG_METADATA = {"Software": None}


def _png(figure: Figure) -> bytes:
    FigureCanvasAgg(figure)
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png", dpi=110, metadata=_PNG_METADATA)
    return buffer.getvalue()


def heatmap_grid(analysis: EngagementAnalysis) -> np.ndarray:
    """7 x 24: each eligible slot's lower-bound lift (what slots are ranked by), NaN elsewhere."""
    grid = np.full((7, 24), np.nan)
    for effect in analysis.slots.ranked:
        grid[effect.weekday, effect.hour] = effect.lift_low
    return grid


def heatmap_png(analysis: EngagementAnalysis, title: str) -> bytes:
    """The figure slots are ranked by (the lower bound of each eligible slot's lift, blank where a
    slot has too few posts), with the claimed slots outlined: the outlined cells are the brightest."""
    plan = analysis.slots
    grid = heatmap_grid(analysis)
    figure = Figure(figsize=(11, 4.2))
    axes = figure.add_subplot()
    image = axes.imshow(np.ma.masked_invalid(grid), aspect="auto", cmap="viridis")
    figure.colorbar(image, ax=axes, label="lift, lower 90 % bound")
    for effect in plan.best:
        axes.add_patch(
            Rectangle((effect.hour - 0.5, effect.weekday - 0.5), 1, 1, fill=False, edgecolor="red", linewidth=2)
        )
    axes.set_xticks(range(24), [f"{h:02d}" for h in range(24)], fontsize=8)
    axes.set_yticks(range(7), WEEKDAYS)
    axes.set_xlabel("hour of day (UTC)")
    verdict = f"red = claimed slots ({len(plan.best)})" if plan.claimed else "no reliable posting-time effect"
    axes.set_title(f"{title}: slot lift by hour of week, {len(plan.ranked)} slots with enough posts; {verdict}",
                   fontsize=10)
    figure.tight_layout()
    return _png(figure)


def trend_png(analysis: EngagementAnalysis, title: str) -> bytes:
    """Weekly median and mean engagement, the recent window shaded, with its verdict in the title."""
    weeks = analysis.weeks
    activity = analysis.activity
    figure = Figure(figsize=(9, 4))
    axes = figure.add_subplot()
    x = [w.week_start for w in weeks]
    # matplotlib plots dates through its unit converters; its stubs only list numeric array-likes.
    axes.plot(x, [w.median_engagement for w in weeks], marker="o", markersize=3,  # type: ignore[arg-type]
              label="weekly median")
    axes.plot(x, [w.mean_engagement for w in weeks], linestyle="--", alpha=0.7,  # type: ignore[arg-type]
              label="weekly mean")
    if weeks:
        end = activity.as_of
        axes.axvspan(end - timedelta(weeks=activity.window_weeks), end, color="grey", alpha=0.15,  # type: ignore[arg-type]
                     label=f"last {activity.window_weeks} weeks")
    verdict = activity.summary
    if activity.weekly_change is not None and activity.p_value is not None and activity.status == "active":
        verdict += f", {activity.weekly_change:+.1%}/week (p={activity.p_value:.3f})"
    axes.set_title(f"{title}: engagement per week (recent window: {verdict})", fontsize=10)
    axes.set_ylabel("engagement")
    axes.set_ylim(bottom=0)
    axes.legend()
    figure.autofmt_xdate()
    figure.tight_layout()
    return _png(figure)
