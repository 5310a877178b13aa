"""The miner's Prometheus metrics: one collector that reads the state at scrape time.

Nothing runs between scrapes and nothing counts events as they happen (except the axon's requests,
counted by its middleware): each scrape reads the stage log's new events (`LogTally`), the live
stages, the supervisor, the job records and the processes' memory. Every part is read on its own; a
part that fails is left out of that scrape and counted in `content_miner_metrics_errors_total`.

Every series carries the constant labels `hotkey` and `netuid`, so several miners can share one
Prometheus. The stage metrics have no account label: accounts are unbounded (a validator can send
any number), and a series per account would grow Prometheus without limit; the history command and
the status synapse answer per-account questions.
"""

from __future__ import annotations

import logging
import os
import threading
import time
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import psutil
from prometheus_client.metrics_core import CounterMetricFamily, GaugeMetricFamily, HistogramMetricFamily, Metric
from prometheus_client.registry import Collector, CollectorRegistry

from content_miner import __version__
from content_miner.pipeline.jobs import QueueSummary
from content_miner.tracker.definitions import StageDefinitions
from content_miner.tracker.live import LiveStage
from content_miner.tracker.log_tally import DurationHistogram, LogTally, Reader
from content_miner.tracker.stages import COMPLETED, FAILED, RUNNING

log = logging.getLogger(__name__)

PREFIX = "content_miner"
MODULE_STATES = ("Starting", "Running", "Unhealthy", "Restarting", "errored", "Stopped")
LIVE_STATES = ("running", "stalled", "crashed")
STATUSES = (RUNNING, COMPLETED, FAILED)


@dataclass(frozen=True)
class ModuleReading:
    source: str  # "module1": the name its stage events carry
    state: str  # the supervisor's: Running, Starting, Unhealthy, Restarting, errored, Stopped
    restarts: int
    pid: int | None


@dataclass
class MetricsSources:
    """Where each metric comes from: plain callables, so that any part can be plugged in or out."""

    hotkey: str
    netuid: int
    read_log: Reader  # tracker.read
    log_path: Path | None  # tracker.log_path: a log that exists but cannot be read is an error
    start_seq: int  # the stage log's last seq when the miner started: the counters start after it
    live: Callable[[], list[LiveStage]]  # tracker.live(rules=...): every account's current stage, with its state
    definitions: StageDefinitions
    modules: Callable[[], Sequence[ModuleReading]] = list
    queue: Callable[[], QueueSummary | None] = lambda: None
    requests: Callable[[], Mapping[tuple[str, str], int]] = dict  # (synapse, status) -> count
    refusals: Callable[[], Mapping[str, int]] = dict  # reason -> count
    started_at: float = field(default_factory=time.time)
    now: Callable[[], float] = time.time


class MinerMetrics(Collector):
    def __init__(self, sources: MetricsSources, logger: Any = None) -> None:
        """`logger`: where a part that cannot be read is said, once (bt.logging in the miner: it strips
        other loggers' handlers); this module's logger by default."""
        self.sources = sources
        self.logger = logger if logger is not None else log
        self.tally = LogTally(sources.start_seq)
        self.errors: dict[str, int] = {}
        self._told: set[str] = set()
        self._lock = threading.Lock()
        self._const = {"hotkey": sources.hotkey, "netuid": str(sources.netuid)}

    # -- the collector ------------------------------------------------------------------------

    def collect(self) -> Iterator[Metric]:
        parts: list[tuple[str, Callable[[], Iterable[Metric]]]] = [
            ("info", self._info), ("stage_log", self._stage_log), ("live_stages", self._live_stages),
            ("modules", self._modules), ("memory", self._memory), ("jobs", self._jobs), ("axon", self._axon)]
        for part, read in parts:
            try:
                families = list(read())
            except Exception as exc:  # one broken part must not take the others with it
                self._failed(part, exc)
                continue
            yield from families
        errors = self._counter("metrics_errors", "Parts of a scrape that could not be read, by part", ["part"])
        with self._lock:
            counts = {**dict.fromkeys((part for part, _ in parts), 0), **self.errors}
        for part, count in sorted(counts.items()):
            errors.add_metric(self._labels(part), count)
        yield errors

    def _failed(self, part: str, exc: BaseException) -> None:
        with self._lock:
            self.errors[part] = self.errors.get(part, 0) + 1
            first = part not in self._told
            self._told.add(part)
        if first:  # once per part: a scrape every few seconds must not flood the log
            self.logger.warning(f"/metrics: cannot read {part}: {type(exc).__name__}: {exc} (left out of the "
                                "scrapes until it works again; counted in content_miner_metrics_errors_total)")

    # -- helpers ------------------------------------------------------------------------------

    def _labels(self, *values: str) -> list[str]:
        return [self._const["hotkey"], self._const["netuid"], *values]

    def _names(self, *names: str) -> list[str]:
        return ["hotkey", "netuid", *names]

    def _gauge(self, name: str, doc: str, labels: Sequence[str] = ()) -> GaugeMetricFamily:
        return GaugeMetricFamily(f"{PREFIX}_{name}", doc, labels=self._names(*labels))

    def _counter(self, name: str, doc: str, labels: Sequence[str] = ()) -> CounterMetricFamily:
        return CounterMetricFamily(f"{PREFIX}_{name}", doc, labels=self._names(*labels))

    def _stage_keys(self) -> list[tuple[str, int]]:
        """Every (source, stage) the definitions know: their series exist (at 0) from the start, so an
        alert on "no plan completed" or a rate has a series to look at before the first event."""
        return [(source.source, number) for source in self.sources.definitions.sources.values()
                for number in source.stages]

    def _stage_labels(self, source: str, number: int) -> list[str]:
        return [source, str(number), self.sources.definitions.name(source, number)]

    # -- the parts ----------------------------------------------------------------------------

    def _info(self) -> Iterable[Metric]:
        info = self._gauge("info", "The miner: its version (always 1)", ["version"])
        info.add_metric(self._labels(__version__), 1)
        start = self._gauge("start_time_seconds", "When the miner started (Unix time); the counters start then")
        start.add_metric(self._labels(), self.sources.started_at)
        return [info, start]

    def _stage_log(self) -> Iterable[Metric]:
        snapshot = self.tally.update(self.sources.read_log)
        if not snapshot.read and self.sources.log_path is not None and self.sources.log_path.exists():
            # Counted, but the totals so far are still served: a gap in a counter's series would read as
            # a reset to Prometheus. (No log yet is no error: nothing happened.)
            self._failed("stage_log", RuntimeError(f"{self.sources.log_path} could not be read"))
        transitions = self._counter(
            "stage_transitions", "Stage events since the miner started, by source, stage and status "
            "(running: a stage started)", ["source", "stage", "stage_name", "status"])
        counts = dict(snapshot.transitions)
        for source, number in self._stage_keys():
            for status in STATUSES:
                counts.setdefault((source, number, status), 0)
        for (source, number, status), count in sorted(counts.items()):
            transitions.add_metric([*self._labels(*self._stage_labels(source, number)), status], count)
        durations = HistogramMetricFamily(
            f"{PREFIX}_stage_duration_seconds", "Durations of the stages completed since the miner started",
            labels=self._names("source", "stage", "stage_name"))
        histograms = dict(snapshot.durations)
        for key in self._stage_keys():
            histograms.setdefault(key, DurationHistogram())
        for (source, number), histogram in sorted(histograms.items()):
            durations.add_metric(self._labels(*self._stage_labels(source, number)), histogram.cumulative(),
                                 histogram.total_s)
        seq = self._gauge("stage_log_last_seq", "The last stage event read from the stage log")
        seq.add_metric(self._labels(), snapshot.last_seq)
        return [transitions, durations, seq]

    def _live_stages(self) -> Iterable[Metric]:
        counts: dict[tuple[str, int, str], int] = {}
        for stage in self.sources.live():
            if stage.state in LIVE_STATES and stage.stage_number is not None:
                key = (stage.source, stage.stage_number, stage.state)
                counts[key] = counts.get(key, 0) + 1
        for source, number in self._stage_keys():
            for state in LIVE_STATES:
                counts.setdefault((source, number, state), 0)
        stages = self._gauge(
            "stages", "Accounts (and modules' own stages) whose current stage is running, stalled (no progress "
            "for too long) or crashed (closed by its module's crash, not run again since)",
            ["source", "stage", "stage_name", "state"])
        for (source, number, state), count in sorted(counts.items()):
            stages.add_metric([*self._labels(*self._stage_labels(source, number)), state], count)
        return [stages]

    def _modules(self) -> Iterable[Metric]:
        state = self._gauge("module_state", "1 for each module's current state, 0 for the others",
                            ["module", "state"])
        restarts = self._counter("module_restarts", "Restarts of each module since the miner started", ["module"])
        for module in self.sources.modules():
            for name in (*MODULE_STATES, *([module.state] if module.state not in MODULE_STATES else [])):
                state.add_metric(self._labels(module.source, name), 1 if name == module.state else 0)
            restarts.add_metric(self._labels(module.source), module.restarts)
        return [state, restarts]

    def _memory(self) -> Iterable[Metric]:
        rss = self._gauge("resident_memory_bytes", "Resident memory of the miner and of each module (with any "
                          "process it started)", ["process"])
        rss.add_metric(self._labels("miner"), psutil.Process().memory_info().rss)
        for module in self.sources.modules():
            total = _tree_rss(module.pid) if module.pid else None
            if total is not None:
                rss.add_metric(self._labels(module.source), total)
        return [rss]

    def _jobs(self) -> Iterable[Metric]:
        summary = self.sources.queue()
        if summary is None:
            return []
        jobs = self._gauge("jobs", "Submitted accounts waiting (queued) or being processed (running)", ["state"])
        jobs.add_metric(self._labels("queued"), summary.queued)
        jobs.add_metric(self._labels("running"), summary.running)
        age = self._gauge("jobs_oldest_queued_age_seconds", "How long the oldest queued account has waited "
                          "(0 when none waits)")
        oldest = summary.oldest_queued_at
        age.add_metric(self._labels(), max(0.0, self.sources.now() - oldest) if oldest is not None else 0.0)
        return [jobs, age]

    def _axon(self) -> Iterable[Metric]:
        requests = self._counter("axon_requests", "Requests the axon answered, by synapse and HTTP status",
                                 ["synapse", "status"])
        for (synapse, status), count in sorted(self.sources.requests().items()):
            requests.add_metric(self._labels(synapse, status), count)
        refusals = self._counter("axon_refusals", "Requests the axon refused, by reason", ["reason"])
        for reason, count in sorted(self.sources.refusals().items()):
            refusals.add_metric(self._labels(reason), count)
        return [requests, refusals]


def _children(pid: int) -> list[int]:
    """`pid`'s children: from /proc/PID/task/*/children where Linux has it (no scan of every process on
    the machine, as psutil's `children` does), else from psutil."""
    try:
        tasks = os.listdir(f"/proc/{pid}/task")
        texts = [Path(f"/proc/{pid}/task/{task}/children").read_text() for task in tasks]
    except OSError:
        try:
            return [child.pid for child in psutil.Process(pid).children()]
        except psutil.Error:
            return []
    return [int(child) for text in texts for child in text.split()]


def _tree_rss(pid: int) -> int | None:
    """The summed RSS of `pid` and its descendants; None when `pid` is gone."""
    total, todo, seen = 0, [pid], set()
    while todo:
        current = todo.pop()
        if current in seen:
            continue
        seen.add(current)
        try:
            total += psutil.Process(current).memory_info().rss
        except psutil.Error:
            if current == pid:
                return None
            continue
        todo.extend(_children(current))
    return total


def build_registry(collector: MinerMetrics) -> CollectorRegistry:
    """A registry of the miner's own: no default process collectors (their series would lack the
    hotkey and netuid labels; the miner reports its memory itself)."""
    registry = CollectorRegistry(auto_describe=False)
    registry.register(collector)
    return registry
