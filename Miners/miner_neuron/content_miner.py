"""The miner's lifecycle: chain, axon, module supervisor, stage reporter, status line, shutdown.

    with ContentMiner(config) as miner:   # everything started
        miner.run_until_stopped()         # status line every --status.interval, until SIGINT/SIGTERM
"""

from __future__ import annotations

import signal
import threading
import time
from pathlib import Path
from types import FrameType, TracebackType
from typing import Any

import bittensor as bt
import miner_paths
from miner_stage_tracker import MinerStageReporter, MinerStageTracker, status_line

from miner_neuron.access_policy import AccessPolicy, AccessSettings, RateLimiter
from miner_neuron.account_jobs import AccountJobs
from miner_neuron.axon_handlers import SynapseHandlers
from miner_neuron.axon_server import build_axon, start_axon
from miner_neuron.chain import ChainContext, connect
from miner_neuron.crash_marking import close_interrupted_stages
from miner_neuron.module2_client import Module2Client
from miner_neuron.module_specs import MODULE1_SOURCE, module_specs
from miner_neuron.restart_policy import RestartPolicy
from miner_neuron.sample_account import queue_sample_account
from miner_neuron.shutdown_budget import REPORTER_STOP_S, TRACKER_CLOSE_S
from miner_neuron.stage_view import StageView
from miner_neuron.supervisor import HealthSettings, ModuleSupervisor

MODE = "watchdog"


class ContentMiner:
    def __init__(self, config: Any) -> None:
        self.config = config
        self.data_dir: Path = miner_paths.data_dir(config.data_dir)
        self.stop_requested = threading.Event()
        self.chain: ChainContext | None = None
        self.axon: bt.Axon | None = None
        self.supervisor: ModuleSupervisor | None = None
        self.reporter: MinerStageReporter | None = None
        self.tracker: MinerStageTracker | None = None
        self._next_sync = 0.0
        self._started = False  # start() went through: only then is "Miner stopped" news

    # -- start --------------------------------------------------------------------------------

    def __enter__(self) -> ContentMiner:
        try:
            self.start()
        except BaseException:
            self.stop()
            raise
        return self

    def __exit__(self, kind: type[BaseException] | None, err: BaseException | None, tb: TracebackType | None) -> None:
        self.stop()

    def start(self) -> None:
        config = self.config
        self.data_dir.mkdir(parents=True, exist_ok=True)
        self.chain = connect(config, self.data_dir)
        access = AccessPolicy(
            AccessSettings(force_validator_permit=bool(config.blacklist.force_validator_permit),
                           allow_non_registered=bool(config.blacklist.allow_non_registered)),
            self.chain.neurons(),
        )
        self.access = access
        self._next_sync = time.monotonic() + config.metagraph.sync_interval
        self.tracker = MinerStageTracker(miner_paths.status_file(self.data_dir), source="miner")
        # The reporter's cursor is the status file's end now: every transition of the modules is logged,
        # starting with the stages an earlier run left open (its modules died with it), closed here
        # before the axon can answer with them and before the modules start.
        self.reporter = MinerStageReporter(self.tracker, bt.logging)
        specs = module_specs(config, self.data_dir)
        for spec in specs:
            close_interrupted_stages(self.tracker, spec.source, spec.label)
        stages = StageView(self.tracker)
        module2 = Module2Client(f"http://127.0.0.1:{int(config.module2.port)}")
        policy = RestartPolicy(config.supervisor.backoff_start, config.supervisor.backoff_factor,
                               config.supervisor.backoff_max, config.supervisor.stable_seconds,
                               config.supervisor.max_fast_failures)
        health = HealthSettings(interval_s=config.supervisor.health_interval, timeout_s=config.supervisor.health_timeout,
                                failures_before_restart=config.supervisor.health_failures)
        self.supervisor = ModuleSupervisor(specs, policy, self.tracker, bt.logging, health=health)
        handlers = SynapseHandlers(
            jobs=AccountJobs(self.data_dir, stages, module2), stages=stages, module2=module2, access=access,
            limiter=RateLimiter(config.blacklist.requests_per_minute, config.blacklist.burst),
            module_states=self.supervisor.states, logger=bt.logging, mode=MODE,
        )
        self.axon = build_axon(self.chain.wallet, config, handlers, mock=self.chain.mock)
        start_axon(self.axon)
        problem = self.chain.serve(self.axon)
        if problem:
            bt.logging.warning(f"Could not announce the axon on the chain: {problem}")
        where = f"{self.axon.fast_config.host}:{self.axon.fast_config.port}"
        chain = "mock chain (offline)" if self.chain.mock else f"{config.subtensor.network}"
        bt.logging.info(f"🚀 Content Recommendation Miner started successfully (netuid {self.chain.netuid}, {chain}, "
                        f"axon {where}, hotkey {self.chain.wallet.hotkey.ss58_address}, data dir {self.data_dir})")
        bt.logging.info("🎯 Stage tracking system initialized")
        self.supervisor.start()
        self.reporter.start_monitoring(check_interval=config.stages.poll_interval)
        bt.logging.info("Stage monitoring activated")
        if self.chain.mock and not config.no_sample:
            queue_sample_account(self.data_dir)
            bt.logging.info("Mock mode: queued the sample account sample_creator for Module 1")
        self._started = True

    # -- run ----------------------------------------------------------------------------------

    def install_signal_handlers(self) -> None:
        def on_signal(signum: int, _frame: FrameType | None) -> None:
            if not self.stop_requested.is_set():
                bt.logging.info(f"Received {signal.Signals(signum).name}; shutting down")
            self.stop_requested.set()

        signal.signal(signal.SIGTERM, on_signal)
        signal.signal(signal.SIGINT, on_signal)

    def status_text(self) -> str:
        assert self.supervisor is not None and self.tracker is not None
        current = self.tracker.get_current_stage(source=MODULE1_SOURCE)
        if current.get("status") == "idle":
            current = self.tracker.get_current_stage()
        return status_line(MODE, self.supervisor.states(), current)

    def run_until_stopped(self) -> None:
        interval = float(self.config.status.interval)
        while not self.stop_requested.wait(interval):
            try:
                bt.logging.info(self.status_text())
            except Exception as err:
                bt.logging.warning(f"Status line unavailable: {type(err).__name__}: {err}")
            self._maybe_resync()

    def _maybe_resync(self) -> None:
        if self.chain is None or time.monotonic() < self._next_sync:
            return
        self._next_sync = time.monotonic() + self.config.metagraph.sync_interval
        try:
            self.access.replace_neurons(self.chain.neurons())
        except Exception as err:
            bt.logging.warning(f"Metagraph sync failed (keeping the previous one): {type(err).__name__}: {err}")

    # -- stop ---------------------------------------------------------------------------------

    def stop(self) -> None:
        """Axon first (no new work), then the modules, then the last stage lines. Safe to call twice."""
        if self.axon is not None:
            try:
                self.axon.stop()
            except Exception as err:
                bt.logging.warning(f"Stopping the axon: {type(err).__name__}: {err}")
            self.axon = None
        if self.supervisor is not None:
            self.supervisor.stop(timeout_s=float(self.config.supervisor.stop_timeout))
            self.supervisor = None
        if self.reporter is not None:
            self.reporter.stop_monitoring(timeout=REPORTER_STOP_S)
            self.reporter = None
        if self.tracker is not None:
            self.tracker.close(TRACKER_CLOSE_S)
            self.tracker = None
        if self._started:  # after a failed start-up the entry point logs "Cannot start: <reason>" instead
            self._started = False
            bt.logging.info("Miner stopped")
