"""What the dashboard reads, as plain callables the miner fills in (tests pass their own).

The dashboard never holds the miner's objects: it gets a read-only view of the stage log, the
tracker's live view, and small functions for the modules, the job queue and the axon's counters.
Each is called from the dashboard's own thread, so each must be safe to call from any thread and
quick (no network); each may fail, and the page then shows that part as unavailable.
"""

from __future__ import annotations

import sqlite3
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol, TypeVar

import psutil

from content_miner.common.layout import DataLayout
from content_miner.pipeline.jobs import QueueSummary
from content_miner.tracker.definitions import DEFAULTS, StageDefinitions
from content_miner.tracker.live import LiveStage
from content_miner.tracker.read_only import read_stage_log

if TYPE_CHECKING:
    from content_miner.neuron.supervisor import ModuleSupervisor

T = TypeVar("T")
ALIVE_STATES = ("Running", "Starting", "Unhealthy")  # the supervisor's states of a module with a process


class LogReader(Protocol):
    """Runs a query on one consistent, read-only view of the stage log (`read_only.read_stage_log`)."""

    def __call__(self, query: Callable[[sqlite3.Connection], T], /) -> T: ...


@dataclass(frozen=True)
class ModuleFacts:
    label: str  # "Module 1"
    source: str  # "module1": the name its stage events carry
    state: str  # the supervisor's: Running, Starting, Unhealthy, Restarting, errored, Stopped
    pid: int | None
    uptime_s: float | None  # since its current process started; None when it has none
    restarts: int
    rss_bytes: int | None


@dataclass
class DashboardSources:
    read_log: LogReader
    live: Callable[[dict[str, Any]], list[LiveStage]]  # what `read_status()`-shaped entries mean now
    layout: DataLayout  # where plans, charts and images are (read, never written)
    definitions: StageDefinitions = DEFAULTS
    modules: Callable[[], Sequence[ModuleFacts]] = list
    queue: Callable[[], QueueSummary | None] = lambda: None
    axon_requests: Callable[[], int | None] = lambda: None  # requests the axon answered so far
    axon_refusals: Callable[[], int | None] = lambda: None  # requests it refused so far
    status_line: Callable[[list[LiveStage]], str] = lambda stages: ""  # the miner's status line over these stages
    miner: Callable[[], Mapping[str, Any]] = dict  # hotkey, netuid, mode, pid, uptime, rss...
    now: Callable[[], float] = field(default=time.time)


def read_only_log(path: Path) -> LogReader:
    """A LogReader of the stage log at `path` that never writes it (`read_only.read_stage_log`)."""

    def read(query: Callable[[sqlite3.Connection], T], /) -> T:
        return read_stage_log(path, query)

    return read


def rss_bytes(pid: int | None) -> int | None:
    """A process's resident memory; None when it is gone."""
    if pid is None:
        return None
    try:
        return int(psutil.Process(pid).memory_info().rss)
    except psutil.Error:
        return None


def modules_of(supervisor: ModuleSupervisor) -> list[ModuleFacts]:
    """The supervisor's modules as facts. Reads attributes only (no lock, no `poll()`): each is one
    value replaced whole by the supervisor's thread (see supervisor.py), so a read is never torn."""
    found = []
    now = time.monotonic()
    for module in supervisor.modules:
        state = module.state
        popen = module.process.popen  # read once: the supervisor's thread may clear it meanwhile
        pid = popen.pid if popen is not None and state in ALIVE_STATES else None
        uptime = max(0.0, now - module.process.started_at) if pid is not None else None
        found.append(ModuleFacts(module.spec.label, module.spec.source, state, pid, uptime,
                                 module.backoff.restarts, rss_bytes(pid)))
    return found
