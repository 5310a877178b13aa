"""The miner's lifecycle: chain, axon, module supervisor, stage reporter, status line, shutdown.

    with ContentMiner(config) as miner:   # everything started
        miner.run_until_stopped()         # status line every --status.interval, until SIGINT/SIGTERM
"""

from __future__ import annotations

import os
import signal
import threading
import time
from collections.abc import Callable
from pathlib import Path
from types import TracebackType
from typing import Any

import bittensor as bt

from content_miner.common.endpoints import remove_endpoint, write_endpoint
from content_miner.common.layout import DataLayout
from content_miner.common.shutdown import wait
from content_miner.dashboard import DashboardServer, DashboardSources, modules_of, read_only_log, start_dashboard
from content_miner.dashboard.sources import rss_bytes
from content_miner.neuron.access_policy import AccessPolicy, AccessSettings, RateLimiter
from content_miner.neuron.account_jobs import AccountJobs, JobPolicy
from content_miner.neuron.axon_handlers import SynapseHandlers
from content_miner.neuron.axon_requests import count_requests
from content_miner.neuron.axon_server import build_axon, start_axon
from content_miner.neuron.chain import ChainContext, connect
from content_miner.neuron.crash_marking import close_interrupted_stages
from content_miner.neuron.metrics import MetricsSources
from content_miner.neuron.metrics_server import MetricsServer, active_stages, module_readings, start_metrics
from content_miner.neuron.module2_client import Module2Client
from content_miner.neuron.module_specs import module2_base_url, module_specs
from content_miner.neuron.refusal_log import RefusalLog
from content_miner.neuron.replay_guard import RequestVerifier, SeenNonces
from content_miner.neuron.restart_policy import RestartPolicy
from content_miner.neuron.sample_account import queue_sample_account
from content_miner.neuron.shutdown_budget import REPORTER_STOP_S, TRACKER_CLOSE_S
from content_miner.neuron.stage_view import StageView
from content_miner.neuron.supervisor import HealthSettings, LogSettings, ModuleSupervisor
from content_miner.pipeline.jobs import JobLimits, JobStore
from content_miner.tracker import MinerStageReporter, MinerStageTracker, Retention, status_line
from content_miner.tracker.definitions import DEFAULTS, StageDefinitions
from content_miner.tracker.live import StallRules, focus

MODE = "watchdog"


class ContentMiner:
    def __init__(self, config: Any, paths: DataLayout, *, definitions: StageDefinitions = DEFAULTS,
                 stop_requested: threading.Event | None = None) -> None:
        self.config = config
        self.definitions = definitions
        self.paths = paths
        self.data_dir: Path = paths.root
        self.stop_requested = stop_requested or threading.Event()
        self.chain: ChainContext | None = None
        self.axon: bt.Axon | None = None
        self.supervisor: ModuleSupervisor | None = None
        self.reporter: MinerStageReporter | None = None
        self.tracker: MinerStageTracker | None = None
        self.jobs: JobStore | None = None
        self.stop_signal: str | None = None
        self.stall_rules = StallRules()
        self.refusals: RefusalLog | None = None
        self.metrics: MetricsServer | None = None
        self.dashboard: DashboardServer | None = None
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
        self.chain = connect(config, self.paths)
        access = AccessPolicy(
            AccessSettings(force_validator_permit=bool(config.blacklist.force_validator_permit),
                           allow_non_registered=bool(config.blacklist.allow_non_registered)),
            self.chain.neurons(),
        )
        self.access = access
        self._next_sync = time.monotonic() + config.metagraph.sync_interval
        # The miner owns the stage log: its tracker applies retention (the modules' trackers only write).
        retention = Retention(keep_days=float(config.tracker.keep_days), max_rows=int(config.tracker.max_rows))
        self.tracker = MinerStageTracker(self.paths.status_file, source="miner", retention=retention,
                                         definitions=self.definitions)
        # The reporter's cursor is the stage log's end now: every transition of the modules is logged,
        # starting with the stages an earlier run left open (its modules died with it), closed here
        # before the axon can answer with them and before the modules start.
        self.reporter = MinerStageReporter(self.tracker, bt.logging, self.definitions)
        metrics_from_seq = self.tracker.end_cursor().seq  # /metrics counts the stage log's events from here on
        specs = module_specs(config, self.paths)
        for spec in specs:
            close_interrupted_stages(self.tracker, spec.source, spec.label)
        self.stall_rules = StallRules(float(config.stages.stall_factor), float(config.stages.stall_restart_factor))
        self.tracker.publish(self.stall_rules)  # so the status command judges stages as the miner does
        stages = StageView(self.tracker, self.stall_rules)
        module2 = Module2Client(module2_base_url(self.paths, int(config.module2.port)))
        policy = RestartPolicy(config.supervisor.backoff_start, config.supervisor.backoff_factor,
                               config.supervisor.backoff_max, config.supervisor.stable_seconds,
                               config.supervisor.max_fast_failures)
        health = HealthSettings(interval_s=config.supervisor.health_interval,
                                timeout_s=config.supervisor.health_timeout,
                                failures_before_restart=config.supervisor.health_failures)
        logs = LogSettings(max_bytes=int(config.supervisor.log_max_mb * 2**20), keep=int(config.supervisor.log_keep))
        tracker = self.tracker
        self.supervisor = ModuleSupervisor(specs, policy, self.tracker, bt.logging, health=health, logs=logs,
                                           live=lambda: active_stages(tracker, self.stall_rules))
        self.jobs = JobStore(self.paths.jobs)
        job_policy = JobPolicy(JobLimits(max_per_submitter=int(config.jobs.max_per_hotkey),
                                         max_queued=int(config.jobs.max_queued)),
                               retry_cooldown_s=float(config.jobs.retry_cooldown))
        self.refusals = RefusalLog(bt.logging, interval_s=float(config.axon.refusal_log_interval)).start()
        handlers = SynapseHandlers(
            jobs=AccountJobs(self.paths, self.jobs, stages, module2, job_policy), stages=stages, module2=module2,
            access=access,
            limiter=RateLimiter(config.blacklist.requests_per_minute, config.blacklist.burst),
            # Nonces from before this start are refused: an earlier run's accepted requests are not in the cache.
            verifier=RequestVerifier(self.chain.wallet.hotkey.ss58_address,
                                     SeenNonces(config.axon.nonce_window, not_before_ns=time.time_ns())),
            refusals=self.refusals, module_states=self.supervisor.states, logger=bt.logging, mode=MODE,
        )
        self.axon = build_axon(self.chain.wallet, config, handlers, mock=self.chain.mock)
        requests = count_requests(self.axon)  # outermost: after build_axon's middleware
        supervisor, refusals, jobs = self.supervisor, self.refusals, self.jobs
        self.metrics, _ = start_metrics(MetricsSources(
            hotkey=self.chain.wallet.hotkey.ss58_address, netuid=int(self.chain.netuid), read_log=tracker.read,
            log_path=tracker.log_path, start_seq=metrics_from_seq, definitions=self.definitions,
            live=lambda: active_stages(tracker, self.stall_rules), modules=lambda: module_readings(supervisor),
            queue=jobs.summary, requests=requests.counts, refusals=refusals.by_reason,
        ), str(config.metrics.host), int(config.metrics.port), bt.logging)
        port = start_axon(self.axon, int(config.axon.port), announced_port=config.axon.external_port)
        write_endpoint(self.paths.endpoint_file("miner"), axon_host=self.axon.fast_config.host, axon_port=port,
                       hotkey=self.chain.wallet.hotkey.ss58_address, **self.metrics.endpoint_fields())
        problem = self.chain.serve(self.axon)
        if problem:
            bt.logging.warning(f"Could not announce the axon on the chain: {problem}")
        where = f"{self.axon.fast_config.host}:{self.axon.fast_config.port}"
        chain = "mock chain (offline)" if self.chain.mock else f"{config.subtensor.network}"
        bt.logging.info(f"🚀 Content Recommendation Miner started successfully (netuid {self.chain.netuid}, {chain}, "
                        f"axon {where}, hotkey {self.chain.wallet.hotkey.ss58_address}, data dir {self.data_dir})")
        bt.logging.info("🎯 Stage tracking system initialized")
        self._start_dashboard(where, lambda: sum(requests.counts().values()))
        self.supervisor.start()
        self.reporter.start_monitoring(check_interval=config.stages.poll_interval)
        bt.logging.info("Stage monitoring activated")
        if self.chain.mock and not config.no_sample:
            if queue_sample_account(self.paths, self.jobs):
                bt.logging.info("Mock mode: queued the sample account sample_creator for Module 1")
            else:
                bt.logging.info("Mock mode: the sample account sample_creator is already queued or being processed")
        self._started = True

    # -- run ----------------------------------------------------------------------------------

    def on_signal(self, signum: int) -> None:
        """The first SIGINT/SIGTERM (`ShutdownSignals` notes and ignores the later ones). Only sets
        the event: a signal handler must not log (it may interrupt the same thread inside a logging
        call holding bt.logging's lock: the miner froze that way); the main loop says it."""
        self.stop_signal = signal.Signals(signum).name
        self.stop_requested.set()

    def status_text(self) -> str:
        assert self.supervisor is not None and self.tracker is not None
        return status_line(MODE, self.supervisor.states(), focus(self.tracker.live(rules=self.stall_rules)))

    def run_until_stopped(self) -> None:
        interval = float(self.config.status.interval)
        while not wait(self.stop_requested, interval):
            try:
                bt.logging.info(self.status_text())
            except Exception as err:
                bt.logging.warning(f"Status line unavailable: {type(err).__name__}: {err}")
            self._maybe_resync()
        bt.logging.info(f"Received {self.stop_signal or 'a stop request'}; shutting down")

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
        if self.dashboard is not None:  # read-only views of what stops next: first, so none shows it half-stopped
            self.dashboard.stop()
            remove_endpoint(self.paths.endpoint_file("dashboard"))
            self.dashboard = None
        remove_endpoint(self.paths.endpoint_file("miner"))
        if self.axon is not None:
            try:
                self.axon.stop()
            except Exception as err:
                bt.logging.warning(f"Stopping the axon: {type(err).__name__}: {err}")
            self.axon = None
        if self.metrics is not None:
            self.metrics.stop()
            self.metrics = None
        if self.refusals is not None:
            self.refusals.stop()  # the refusals counted since their last line
            self.refusals = None
        if self.supervisor is not None:
            self.supervisor.stop(timeout_s=float(self.config.supervisor.stop_timeout))
            self.supervisor = None
        if self.reporter is not None:
            self.reporter.stop_monitoring(timeout=REPORTER_STOP_S)
            self.reporter = None
        if self.tracker is not None:
            self.tracker.close(TRACKER_CLOSE_S)
            self.tracker = None
        if self.jobs is not None:
            self.jobs.close()
            self.jobs = None
        if self._started:  # after a failed start-up the entry point logs "Cannot start: <reason>" instead
            self._started = False
            bt.logging.info("Miner stopped")

    # -- the dashboard ------------------------------------------------------------------------

    def _start_dashboard(self, axon_address: str, axon_requests: Callable[[], int]) -> None:
        """The read-only web dashboard (`content_miner.dashboard`), when --dashboard.port is given. It
        reads the stage log through its own read-only connections and the rest through the callables here."""
        config = self.config
        if config.dashboard.port is None:
            return
        assert self.tracker is not None and self.supervisor is not None and self.jobs is not None
        assert self.refusals is not None and self.chain is not None
        tracker, supervisor, jobs, refusals, chain = (self.tracker, self.supervisor, self.jobs, self.refusals,
                                                      self.chain)
        started = time.monotonic()
        facts = {"mode": MODE, "netuid": chain.netuid, "hotkey": chain.wallet.hotkey.ss58_address,
                 "axon": axon_address, "mock": chain.mock, "data_dir": str(self.data_dir), "pid": os.getpid()}
        sources = DashboardSources(
            read_log=read_only_log(tracker.log_path), live=lambda status: tracker.live(rules=self.stall_rules,
                                                                                         status=status),
            layout=self.paths, definitions=self.definitions, modules=lambda: modules_of(supervisor),
            queue=jobs.summary, axon_requests=axon_requests,  # answered, as /metrics counts them
            axon_refusals=lambda: refusals.total,
            status_line=lambda stages: status_line(MODE, supervisor.states(), focus(stages)),
            miner=lambda: {**facts, "uptime_s": time.monotonic() - started, "rss_bytes": rss_bytes(os.getpid())})
        self.dashboard = start_dashboard(sources, str(config.dashboard.host), int(config.dashboard.port),
                                         config.dashboard.token)
        write_endpoint(self.paths.endpoint_file("dashboard"), **self.dashboard.endpoint_fields())
        access = "access token required" if self.dashboard.token_required else "this machine only"
        bt.logging.info(f"📊 Dashboard (read-only) on {self.dashboard.url} ({access})")
