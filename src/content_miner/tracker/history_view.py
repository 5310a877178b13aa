"""How the history command shows a `HistoryReport`: JSON with stable keys, rich tables with a unicode
sparkline per stage, or a PNG chart of durations over time (matplotlib, imported only for it)."""

from __future__ import annotations

import math
import os
import tempfile
from contextlib import ExitStack
from dataclasses import asdict
from pathlib import Path
from typing import Any

from rich.table import Table

from .analytics import DurationSeries, HistoryReport
from .status_view import clock, duration

SPARKS = "▁▂▃▄▅▆▇█"


def report_json(report: HistoryReport, *, since: str, log: Path, chart: Path | None) -> dict[str, Any]:
    """The report as JSON: these keys are stable (scripts and the dashboard read them)."""
    window = report.window
    return {
        "log": str(log),
        "window": {"since": since, "start": window.start, "end": window.end, "bucket_s": window.bucket_s},
        "events": report.events,
        "stages": [asdict(figure) for figure in report.stages],
        "slowest_accounts": [asdict(account) for account in report.slowest],
        "failure_reasons": [asdict(reason) for reason in report.failures],
        "durations_over_time": [asdict(series) for series in report.durations],
        "chart": str(chart) if chart else None,
    }


def sparkline(series: DurationSeries, start: float, end: float, bucket_s: float) -> str:
    """One character per bucket of the window: the bucket's p50 against the series' highest p50
    (a space where no run ended)."""
    count = max(1, int(-(-(end - start) // bucket_s)))
    values: list[float | None] = [None] * count
    for bucket in series.buckets:
        index = int((bucket.start - start) // bucket_s)
        if 0 <= index < count:
            values[index] = bucket.p50_s
    top = max((value for value in values if value is not None), default=0.0)
    return "".join(" " if value is None else SPARKS[min(len(SPARKS) - 1, int(value / top * (len(SPARKS) - 1)))
                                                    if top > 0 else 0] for value in values)


def _rate(value: float | None) -> str:
    return "-" if value is None else f"{value * 100:.1f}%"


def _bucket_words(seconds: float) -> str:
    for size, word in ((7 * 86400, "week"), (86400, "day"), (3600, "hour"), (60, "minute")):
        if seconds >= size and seconds % size == 0:
            count = int(seconds // size)
            return word if count == 1 else f"{count} {word}s"
    return f"{seconds:g} s"


def tables(report: HistoryReport, *, since: str, log: Path) -> list[Table]:
    window = report.window
    lines = {(series.source, series.stage_number): sparkline(series, window.start, window.end, window.bucket_s)
             for series in report.durations}
    stages = Table(title=f"Stage history - last {since} ({clock(window.start)} to {clock(window.end)}) - {log}",
                   title_justify="left")
    for column in ("Source", "Stage", "Started", "Completed", "Failed", "Interrupted", "Success", "p50", "p95",
                   "Max", f"p50 per {_bucket_words(window.bucket_s)}"):
        stages.add_column(column, justify="right" if column not in ("Source", "Stage") else "left",
                          overflow="fold", no_wrap=column.startswith("p50 per"))
    for figure in report.stages:
        stages.add_row(figure.source, f"{figure.stage_number} {figure.stage_name}", str(figure.started),
                       str(figure.completed), str(figure.failed), str(figure.interrupted), _rate(figure.success_rate),
                       duration(figure.p50_s), duration(figure.p95_s), duration(figure.max_s),
                       lines.get((figure.source, figure.stage_number), ""))
    stages.caption = (f"{report.events} events in the window; durations of completed runs"
                      if report.stages else f"no stage event in the last {since}")
    slow = Table(title="Slowest accounts (by their longest stage run)", title_justify="left")
    for column in ("Source", "Account", "Longest stage", "Took", "Ended", "Stage runs", "All runs took"):
        slow.add_column(column, overflow="fold")
    for account in report.slowest:
        slow.add_row(account.source, account.username, f"{account.stage_number} {account.stage_name}",
                     duration(account.longest_s), clock(account.at), str(account.runs), duration(account.total_s))
    failures = Table(title="Top failure reasons", title_justify="left")
    for column in ("Source", "Stage", "Failures", "Accounts", "Last", "Reason (latest message)"):
        failures.add_column(column, overflow="fold")
    for reason in report.failures:
        # The latest message as written, under the grouped reason when it says more.
        text = reason.reason if reason.example == reason.reason else f"{reason.reason}\n[dim]{reason.example}[/]"
        failures.add_row(reason.source, f"{reason.stage_number} {reason.stage_name}", str(reason.count),
                         str(reason.accounts), clock(reason.last_at), text)
    if not report.failures:
        failures.caption = "no failure in the window"
    return [stages, slow, failures]


def write_chart(report: HistoryReport, path: Path, *, since: str, tool_dir: Path | None) -> None:
    """A PNG of each stage's p50 and p95 durations over the window, one panel per stage.

    matplotlib keeps a font cache in MPLCONFIGDIR (else under $HOME): `tool_dir` (the data
    directory's, where the miner keeps it) when it exists, else a temporary directory removed after."""
    with ExitStack() as stack:
        if "MPLCONFIGDIR" not in os.environ:
            chosen = tool_dir if tool_dir is not None and tool_dir.is_dir() else Path(
                stack.enter_context(tempfile.TemporaryDirectory(prefix="content-miner-mpl-")))
            os.environ["MPLCONFIGDIR"] = str(chosen)
        _draw(report, path, since)


def _draw(report: HistoryReport, path: Path, since: str) -> None:
    import matplotlib

    matplotlib.use("Agg")
    from datetime import datetime, timezone

    import matplotlib.dates as mdates
    import matplotlib.pyplot as plt

    series = [s for s in report.durations if s.buckets]
    columns = 2 if len(series) > 1 else 1
    rows = max(1, -(-len(series) // columns))
    figure, axes = plt.subplots(rows, columns, figsize=(6.4 * columns, 2.6 * rows + 0.6), squeeze=False)
    when = [datetime.fromtimestamp(t, timezone.utc) for t in (report.window.start, report.window.end)]
    for index, ax in enumerate(axes.flat):
        if index >= len(series):
            ax.axis("off")
            continue
        one = series[index]
        # Every bucket of the window, NaN where no run ended: the lines break at gaps instead of
        # drawing a trend through hours when nothing ran.
        count = max(1, int(-(-(report.window.end - report.window.start) // report.window.bucket_s)))
        p50, p95 = [math.nan] * count, [math.nan] * count
        for bucket in one.buckets:
            slot = int((bucket.start - report.window.start) // report.window.bucket_s)
            if 0 <= slot < count:
                p50[slot], p95[slot] = bucket.p50_s, bucket.p95_s
        times = [datetime.fromtimestamp(report.window.start + (slot + 0.5) * report.window.bucket_s, timezone.utc)
                 for slot in range(count)]
        ax.fill_between(times, p50, p95, alpha=0.2, color="tab:blue")
        ax.plot(times, p50, marker="o", markersize=3, color="tab:blue", label="p50")
        ax.plot(times, p95, marker="_", markersize=6, linestyle="--", color="tab:orange", label="p95")
        ax.set_title(f"{one.source} - {one.stage_number} {one.stage_name} ({sum(b.count for b in one.buckets)} runs)",
                     fontsize=9)
        ax.set_ylabel("seconds", fontsize=8)
        ax.set_xlim(when[0], when[1])
        ax.set_ylim(bottom=0)
        ax.xaxis.set_major_formatter(mdates.DateFormatter("%m-%d %H:%M", tz=timezone.utc))
        ax.tick_params(labelsize=7)
        ax.grid(alpha=0.3)
        ax.legend(fontsize=7, loc="upper left")
    if not series:
        axes.flat[0].text(0.5, 0.5, f"no completed stage in the last {since}", ha="center", va="center")
    figure.suptitle(f"Stage durations over the last {since} (UTC, per {_bucket_words(report.window.bucket_s)})",
                    fontsize=11)
    figure.tight_layout()
    figure.savefig(path, dpi=100, format="png")
    plt.close(figure)
