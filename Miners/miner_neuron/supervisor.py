"""The module supervisor: starts both modules, watches them, restarts a crashed one with backoff.

One thread polls every module a few times a second. A module that exits is reported in one line
(module, exit code, the stage it was in, restart number and delay), its open stages are closed as
failed, and it is started again after the backoff; after too many fast failures it is left
`errored`. Module 2 is also asked for /health; one that stops answering is restarted.
"""

from __future__ import annotations

import signal
import threading
import time
from dataclasses import dataclass
from typing import Any

import httpx

from miner_neuron.crash_marking import StageRecorder, close_open_stages
from miner_neuron.module_process import ExitInfo, ModuleProcess, ModuleSpec
from miner_neuron.restart_policy import RestartBackoff, RestartPolicy

RUNNING = "Running"
STARTING = "Starting"
RESTARTING = "Restarting"
ERRORED = "errored"
STOPPED = "Stopped"


@dataclass(frozen=True)
class HealthSettings:
    interval_s: float = 5.0
    timeout_s: float = 2.0
    failures_before_restart: int = 3
    startup_grace_s: float = 60.0  # a module that never answered gets this long before it counts


class SupervisedModule:
    def __init__(self, spec: ModuleSpec, policy: RestartPolicy) -> None:
        self.spec = spec
        self.process = ModuleProcess(spec)
        self.backoff = RestartBackoff(policy)
        self.state = STOPPED
        self.restart_at: float | None = None
        self.healthy_once = False
        self.health_failures = 0
        self.next_health_check = 0.0


class ModuleSupervisor:
    def __init__(self, specs: list[ModuleSpec], policy: RestartPolicy, tracker: StageRecorder, logger: Any, *,
                 check_interval_s: float = 0.2, health: HealthSettings | None = None) -> None:
        self.modules = [SupervisedModule(spec, policy) for spec in specs]
        self.tracker = tracker
        self.logger = logger
        self.check_interval_s = check_interval_s
        self.health = health or HealthSettings()
        self._stop = threading.Event()
        self._lock = threading.Lock()
        self._thread: threading.Thread | None = None
        self._http = httpx.Client(timeout=self.health.timeout_s)
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
        with self._lock:
            return {module.spec.label: module.state for module in self.modules}

    def pids(self) -> dict[str, int | None]:
        with self._lock:
            return {module.spec.label: module.process.pid for module in self.modules}

    def stop(self, timeout_s: float = 5.0) -> None:
        """SIGTERM every module's group, SIGKILL what is left after `timeout_s`; returns when all are gone.

        The stopping is done by the supervisor thread itself: it forked the modules, and
        PR_SET_PDEATHSIG kills them the moment that thread ends, before they could stop cleanly.
        """
        self._stop_timeout_s = timeout_s
        self._stop.set()
        if self._thread is not None and self._thread.is_alive():
            self._thread.join(timeout=timeout_s + 5.0)
        else:
            self._stop_modules()
        self._http.close()

    def _stop_modules(self) -> None:
        with self._lock:
            running = [module for module in self.modules if module.process.alive()]
            for module in running:
                module.process.signal_group(signal.SIGTERM)
            deadline = time.monotonic() + self._stop_timeout_s
            for module in running:
                if not module.process.wait(deadline):
                    self.logger.warning(f"{module.spec.label} did not stop within {self._stop_timeout_s:g}s; killing it")
                    module.process.signal_group(signal.SIGKILL)
                    module.process.wait(time.monotonic() + 2.0)
            for module in self.modules:
                ended = module.process.exited()
                if ended is not None:
                    close_open_stages(self.tracker, module.spec.source, module.spec.label, ended.reason,
                                      pid=ended.pid, exit_code=ended.code, crashed=False)
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
            now = time.monotonic()
            for module in self.modules:
                try:
                    with self._lock:
                        if self._stop.is_set():
                            return
                        probe_due = self._check(module, now)
                    if probe_due:  # the HTTP call is made without the lock: states() never waits on it
                        healthy = self._probe(module)
                        with self._lock:
                            self._after_probe(module, healthy, time.monotonic())
                except Exception as err:  # the watcher must outlive any surprise
                    self.logger.error(f"Supervisor: checking {module.spec.label} failed: {type(err).__name__}: {err}")

    def _spawn(self, module: SupervisedModule) -> None:
        failure = module.process.start()
        module.healthy_once = False
        module.health_failures = 0
        module.next_health_check = time.monotonic() + min(1.0, self.health.interval_s)
        if failure is not None:
            self._on_exit(module, failure)
            return
        module.state = STARTING if module.spec.health_url else RUNNING
        module.restart_at = None

    def _check(self, module: SupervisedModule, now: float) -> bool:
        """Handle an exit or a due restart; True when a health probe is due."""
        ended = module.process.exited()
        if ended is not None:
            self._on_exit(module, ended)
            return False
        if module.state == RESTARTING and module.restart_at is not None and now >= module.restart_at:
            self.logger.info(f"🔁 Restarting {module.spec.label} (restart {module.backoff.restarts})")
            self._spawn(module)
            return False
        if module.spec.health_url and module.process.alive() and now >= module.next_health_check:
            module.next_health_check = now + (self.health.interval_s if module.healthy_once else 0.5)
            return True
        return False

    def _probe(self, module: SupervisedModule) -> bool:
        try:
            return self._http.get(module.spec.health_url).status_code == 200  # type: ignore[arg-type]
        except httpx.HTTPError:
            return False

    def _after_probe(self, module: SupervisedModule, ok: bool, now: float) -> None:
        if not module.process.alive():
            return  # it ended meanwhile: the next check reports the exit
        if ok:
            module.healthy_once, module.health_failures, module.state = True, 0, RUNNING
            return
        if not module.healthy_once and now - module.process.started_at < self.health.startup_grace_s:
            return
        module.health_failures += 1
        if module.health_failures >= self.health.failures_before_restart:
            self.logger.warning(f"⚠️  {module.spec.label} failed {module.health_failures} health checks in a row; "
                                "stopping it to restart it")
            module.process.signal_group(signal.SIGKILL)
            module.process.wait(time.monotonic() + 2.0)

    def _on_exit(self, module: SupervisedModule, ended: ExitInfo) -> None:
        closed = close_open_stages(self.tracker, module.spec.source, module.spec.label, ended.reason,
                                   pid=ended.pid, exit_code=ended.code, crashed=True)
        where = f"during {closed[0].label()}" if closed else "with no stage running"
        if len(closed) > 1:
            where += f" (+{len(closed) - 1} more)"
        what = "exited unexpectedly" if ended.code == 0 else "crashed"
        decision = module.backoff.after_exit(ended.run_s)
        if decision.restart:
            module.state = RESTARTING
            module.restart_at = time.monotonic() + decision.delay_s
            then = f"restart {decision.restart_number} in {decision.delay_s:g}s"
        else:
            module.state = ERRORED
            module.restart_at = None
            then = f"not restarting: {decision.fast_failures} fast failures in a row (errored)"
        self.logger.error(f"💥 {module.spec.label} {what}: {ended.reason} after {ended.run_s:.1f}s, {where}; {then}")
