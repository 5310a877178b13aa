"""PNG charts for the report: engagement by weekday x hour, and engagement per week.

Figures are drawn with the Agg canvas directly (no pyplot, no global backend switch, nothing
shown on screen) and returned as bytes, so the exporter writes them atomically.
"""

from __future__ import annotations

import io

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


def heatmap_png(analysis: EngagementAnalysis, title: str) -> bytes:
    """Mean engagement per UTC weekday x hour (blank where no post), the top slots outlined."""
    means = np.array(analysis.slots.mean_grid, dtype=float)
    counts = np.array(analysis.slots.count_grid)
    figure = Figure(figsize=(11, 4.2))
    axes = figure.add_subplot()
    image = axes.imshow(np.ma.masked_invalid(means), aspect="auto", cmap="viridis")
    figure.colorbar(image, ax=axes, label="mean engagement")
    for stat in analysis.slots.ranked[:5]:
        axes.add_patch(
            Rectangle((stat.hour - 0.5, stat.weekday - 0.5), 1, 1, fill=False, edgecolor="red", linewidth=2)
        )
    axes.set_xticks(range(24), [f"{h:02d}" for h in range(24)], fontsize=8)
    axes.set_yticks(range(7), WEEKDAYS)
    axes.set_xlabel("hour of day (UTC)")
    axes.set_title(f"{title}: engagement by hour of week ({int(counts.sum())} posts; red = top 5 slots)")
    figure.tight_layout()
    return _png(figure)


def trend_png(analysis: EngagementAnalysis, title: str) -> bytes:
    """Weekly median and mean engagement, with the trend verdict in the title."""
    weeks = analysis.trend.weeks
    figure = Figure(figsize=(9, 4))
    axes = figure.add_subplot()
    x = [w.week_start for w in weeks]
    # matplotlib plots dates through its unit converters; its stubs only list numeric array-likes.
    axes.plot(x, [w.median_engagement for w in weeks], marker="o", label="weekly median")  # type: ignore[arg-type]
    axes.plot(x, [w.mean_engagement for w in weeks], linestyle="--", alpha=0.7,  # type: ignore[arg-type]
              label="weekly mean")
    verdict = analysis.trend.direction
    if analysis.trend.weekly_change is not None:
        verdict += f", {analysis.trend.weekly_change:+.1%}/week (p={analysis.trend.p_value:.3f})"
    axes.set_title(f"{title}: engagement per week ({verdict})")
    axes.set_ylabel("engagement")
    axes.set_ylim(bottom=0)
    axes.legend()
    figure.autofmt_xdate()
    figure.tight_layout()
    return _png(figure)
