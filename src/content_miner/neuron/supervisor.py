"""The module supervisor: starts both modules, watches them, restarts a crashed one with backoff.

One thread polls every module a few times a second. A module that exits is reported in one line
(module, exit code, the stage it was in, restart number and delay), its open stages are closed as
failed, and it is started again after the backoff; after too many fast failures it is left
`errored`. Module 2 is also asked for /health (in a probe thread, so a frozen module never holds
up the loop); one that fails too many checks in a row is killed and restarted the same way.

`states()` is read by the axon's event loop and the status line, so it takes no lock: each
module's state is one string attribute, replaced whole, and the list of modules never changes.
The lock only keeps the supervisor's own thread and `stop()` from acting on a module at once.
"""

from __future__ import annotations

import signal
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from content_miner.neuron.crash_marking import StageRecorder, close_open_stages
from content_miner.neuron.health_probe import HealthProbe
from content_miner.neuron.log_cap import LogCap
from content_miner.neuron.module_process import ExitInfo, ModuleProcess, ModuleSpec
from content_miner.neuron.restart_policy import RestartBackoff, RestartPolicy
from content_miner.neuron.shutdown_budget import KILL_WAIT_S
from content_miner.tracker.live import LiveStage, short_duration

RUNNING = "Running"
STARTING = "Starting"
UNHEALTHY = "Unhealthy"  # alive, but its last health check(s) failed
RESTARTING = "Restarting"
ERRORED = "errored"
STOPPED = "Stopped"


@dataclass(frozen=True)
class HealthSettings:
    interval_s: float = 5.0
    timeout_s: float = 2.0
    failures_before_restart: int = 3
    startup_grace_s: float = 60.0  # a module that never answered gets this long before it counts


@dataclass(frozen=True)
class LogSettings:
    max_bytes: int = 50 * 2**20  # a module's log is copied aside and emptied past this size
    keep: int = 3  # copies kept: <module>.log.1 ... .3
    check_every_s: float = 5.0


class SupervisedModule:
    def __init__(self, spec: ModuleSpec, policy: RestartPolicy, health: HealthSettings) -> None:
        self.spec = spec
        self.process = ModuleProcess(spec)
        self.backoff = RestartBackoff(policy)
        self.state = STOPPED
        self.restart_at: float | None = None
        self.healthy_once = False
        self.health_failures = 0
        self.next_health_check = 0.0
        self.probe = HealthProbe(spec.health_url, health.timeout_s) if spec.health_url else None
        self.killed_for: str | None = None  # why the supervisor killed the current run, if it did


class ModuleSupervisor:
    def __init__(self, specs: list[ModuleSpec], policy: RestartPolicy, tracker: StageRecorder, logger: Any, *,
                 check_interval_s: float = 0.2, health: HealthSettings | None = None,
                 logs: LogSettings | None = None, live: Callable[[], list[LiveStage]] | None = None,
                 stall_check_every_s: float = 2.0) -> None:
        self.health = health or HealthSettings()
        self.logs = logs or LogSettings()
        self._log_caps = [LogCap(spec.log_file, self.logs.max_bytes, self.logs.keep) for spec in specs]
        self._next_log_check = 0.0
        self._live = live
        self._stall_check_every_s = stall_check_every_s
        self._next_stall_check = 0.0
        self._stalls_told: set[tuple[str, str, int | None, float | None]] = set()
        self.modules = [SupervisedModule(spec, policy, self.health) for spec in specs]
        self.tracker = tracker
        self.logger = logger
        self.check_interval_s = check_interval_s
        self._stop = threading.Event()
        self._lock = threading.Lock()
        self._thread: threading.Thread | None = None
        self._stop_timeout_s = 5.0

    # -- public -------------------------------------------------------------------------------

    def start(self) -> None:
        """Start every module from the supervisor's own thread (PR_SET_PDEATHSIG follows the
        thread that forked, so it must be one that lives as long as the miner)."""
        for module in self.modules:
            self.logger.info(f"📋 Starting {module.spec.label}: {module.spec.description}")
        self._thread = threading.Thread(target=self._run, name="module-supervisor", daemon=True)
        self._thread.start()

    def states(self) -> dict[str, str]:
        """Each module's state, without waiting on the supervisor (see the module docstring)."""
        return {module.spec.label: module.state for module in self.modules}

    def pids(self) -> dict[str, int | None]:
        return {module.spec.label: module.process.pid for module in self.modules}

    def stop(self, timeout_s: float = 5.0) -> None:
        """SIGTERM every module's group, SIGKILL what is left after `timeout_s`; returns when all are gone.

        The stopping is done by the supervisor thread itself: it forked the modules, and
        PR_SET_PDEATHSIG kills them the moment that thread ends, before they could stop cleanly.
        """
        self._stop_timeout_s = timeout_s
        self._stop.set()
        if self._thread is not None and self._thread.is_alive():
            # Its current step is short (no step waits on the network), then _stop_modules.
            self._thread.join(timeout=timeout_s + KILL_WAIT_S + 1.0)
        else:
            self._stop_modules()

    def _stop_modules(self) -> None:
        with self._lock:
            running = [module for module in self.modules if module.process.alive()]
            for module in running:
                module.process.signal_group(signal.SIGTERM)
            deadline = time.monotonic() + self._stop_timeout_s
            for module in running:
                if not module.process.wait(deadline):
                    self.logger.warning(
                        f"{module.spec.label} did not stop within {self._stop_timeout_s:g}s; killing it"
                    )
                    module.process.signal_group(signal.SIGKILL)
                    module.process.wait(time.monotonic() + KILL_WAIT_S)
            for module in self.modules:
                ended = module.process.exited()
                if ended is not None:
                    close_open_stages(self.tracker, module.spec.source, module.spec.label, ended.reason,
                                      pid=ended.pid, exit_code=ended.code, crashed=False, interrupted=True)
                module.state = STOPPED

    # -- the loop -----------------------------------------------------------------------------

    def _run(self) -> None:
        try:
            self._watch()
        finally:
            self._stop_modules()

    def _watch(self) -> None:
        for module in self.modules:
            if self._stop.is_set():
                return
            with self._lock:
                self._spawn(module)
        while not self._stop.wait(self.check_interval_s):
            self._cap_logs(time.monotonic())
            self._check_stalls(time.monotonic())
            for module in self.modules:
                try:
                    with self._lock:
                        if self._stop.is_set():
                            return
                        self._check(module, time.monotonic())
                except Exception as err:  # the watcher must outlive any surprise
                    self.logger.error(f"Supervisor: checking {module.spec.label} failed: {type(err).__name__}: {err}")

    def _cap_logs(self, now: float) -> None:
        if now < self._next_log_check:
            return
        self._next_log_check = now + self.logs.check_every_s
        for cap in self._log_caps:
            try:
                if cap.check():
                    self.logger.info(f"{cap.path.name} passed {cap.max_bytes // 2**20} MB: copied to "
                                     f"{cap.copy_name(1).name} and emptied")
            except OSError as err:
                self.logger.warning(f"Cannot cap {cap.path.name}: {err.strerror or err}")

    def _check_stalls(self, now: float) -> None:
        """A stage that stopped moving is said once (warning); past the hard limit its module is killed
        (SIGKILL: a frozen process ignores anything else) and restarted, the stage closed as failed."""
        if self._live is None or now < self._next_stall_check:
            return
        self._next_stall_check = now + self._stall_check_every_s
        try:
            stages = self._live()
        except Exception as err:
            self.logger.warning(f"Supervisor: reading the live stages failed: {type(err).__name__}: {err}")
            return
        modules = {module.spec.source: module for module in self.modules}
        for stage in stages:
            module = modules.get(stage.source)
            if module is None or stage.state != "stalled":
                continue
            incident = (stage.source, stage.username, stage.stage_number, stage.started_at)
            if incident not in self._stalls_told:
                self._stalls_told.add(incident)
                who = f" for {stage.username}" if stage.username else ""
                self.logger.warning(
                    f"⚠️  {module.spec.label}: Stage {stage.stage_number} - {stage.stage_name}{who} is stalled: "
                    f"no progress for {short_duration(stage.quiet_s)}, running for {short_duration(stage.elapsed_s)}")
            if stage.must_restart and module.process.alive() and not module.killed_for:
                with self._lock:
                    module.killed_for = f"stalled: no progress for {int(stage.quiet_s or 0)} s"
                    self.logger.warning(f"⚠️  {module.spec.label}: {module.killed_for}; restarting it")
                    module.process.signal_group(signal.SIGKILL)
        if len(self._stalls_told) > 10_000:
            self._stalls_told.clear()

    def _spawn(self, module: SupervisedModule) -> None:
        failure = module.process.start()
        module.healthy_once = False
        module.health_failures = 0
        module.killed_for = None
        module.next_health_check = time.monotonic() + min(1.0, self.health.interval_s)
        if failure is not None:
            self._on_exit(module, failure)
            return
        module.state = STARTING if module.probe else RUNNING
        module.restart_at = None

    def _check(self, module: SupervisedModule, now: float) -> None:
        """Handle an exit, a due restart, a health answer or a due health check. Never waits."""
        ended = module.process.exited()
        if ended is not None:
            self._on_exit(module, ended)
            return
        if module.state == RESTARTING and module.restart_at is not None and now >= module.restart_at:
            self.logger.info(f"🔁 Restarting {module.spec.label} (restart {module.backoff.restarts})")
            self._spawn(module)
            return
        if module.probe is None or not module.process.alive() or module.killed_for:
            return
        answer = module.probe.collect()
        if answer is not None and answer.pid == module.process.pid:
            self._after_probe(module, answer.ok, now)
        if not module.killed_for and not module.probe.in_flight and now >= module.next_health_check:
            module.next_health_check = now + (self.health.interval_s if module.healthy_once
                                              else min(0.5, self.health.interval_s))
            module.probe.start(module.process.pid)

    def _after_probe(self, module: SupervisedModule, ok: bool, now: float) -> None:
        if ok:
            module.healthy_once, module.health_failures, module.state = True, 0, RUNNING
            return
        if not module.healthy_once and now - module.process.started_at < self.health.startup_grace_s:
            return
        module.health_failures += 1
        module.state = UNHEALTHY
        if module.health_failures >= self.health.failures_before_restart:
            module.killed_for = f"{module.health_failures} failed health checks in a row"
            self.logger.warning(f"⚠️  {module.spec.label}: {module.killed_for}; stopping it to restart it")
            # No waiting here: the next check (a fraction of a second later) sees the exit and reports it.
            module.process.signal_group(signal.SIGKILL)

    def _on_exit(self, module: SupervisedModule, ended: ExitInfo) -> None:
        killed_for, module.killed_for = module.killed_for, None
        if killed_for:
            closed = close_open_stages(
                self.tracker, module.spec.source, module.spec.label, ended.reason, pid=ended.pid,
                exit_code=ended.code, crashed=False,
                message=killed_for if killed_for.startswith("stalled") else f"{module.spec.label} was stopped "
                                                                              f"after {killed_for}")
            what = (f"killed ({killed_for}) after {ended.run_s:.1f}s" if killed_for.startswith("stalled")
                    else f"stopped after {killed_for} (it had run {ended.run_s:.1f}s)")
        else:
            closed = close_open_stages(self.tracker, module.spec.source, module.spec.label, ended.reason,
                                       pid=ended.pid, exit_code=ended.code, crashed=True)
            crashed = "exited unexpectedly" if ended.code == 0 else "crashed"
            what = f"{crashed}: {ended.reason} after {ended.run_s:.1f}s"
        where = f"during {closed[0].label()}" if closed else "with no stage running"
        if len(closed) > 1:
            where += f" (+{len(closed) - 1} more)"
        decision = module.backoff.after_exit(ended.run_s)
        if decision.restart:
            module.state = RESTARTING
            module.restart_at = time.monotonic() + decision.delay_s
            then = f"restart {decision.restart_number} in {decision.delay_s:g}s"
        else:
            module.state = ERRORED
            module.restart_at = None
            then = f"not restarting: {decision.fast_failures} fast failures in a row (errored)"
        self.logger.error(f"💥 {module.spec.label} {what}, {where}; {then}")
