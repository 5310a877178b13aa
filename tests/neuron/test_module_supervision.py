"""The supervisor with real processes: a module SIGKILLed mid-stage, a module that never starts,
a frozen Module 2, the miner SIGKILLed itself, the per-hotkey rate limit and bad flags."""

from __future__ import annotations

import os
import re
import signal
from collections.abc import Callable
from pathlib import Path

import psutil

from content_miner.neuron.miner_client import MinerClient, axon_info, mock_keys
from content_miner.tracker import MinerStageTracker
from support.miner import MinerRun, run

CRASHING_MODULE = Path(__file__).with_name("crashing_module.py")
STATUS_LINE = r"📈 Miner Status: Mode: watchdog \| "


def test_module1_killed_in_stage_3_is_reported_closed_restarted_and_finishes_the_account(
        start_miner: Callable[..., MinerRun]) -> None:
    # The packaged sample account (313 posts to embed): Stage 3 takes seconds, and Module 1 is frozen
    # in it the moment the status file shows it, so the kill lands in Stage 3 however fast it gets.
    miner = start_miner("--supervisor.backoff_start", "0.5", "--status.interval", "1")  # queues the sample account
    module1 = miner.freeze_module_in_stage("content_miner.pipeline", "module1", "sample_creator", 3)
    at = miner.wait_line(r"⚙️  Stage 3 - Vector Database for sample_creator", timeout=30)
    os.kill(module1, signal.SIGKILL)

    crash = miner.wait_line(r"💥 Module 1 crashed: killed by SIGKILL \(exit code -9\) after [\d.]+s, "
                            r"during Stage 3 - Vector Database for sample_creator; restart 1 in 0.5s", after=at)
    assert "ERROR" in miner.lines()[crash]
    miner.wait_line(r"ERROR.*❌ Stage 3 Failed - Vector Database for sample_creator - Error: Module 1 crashed "
                    r"\(killed by SIGKILL \(exit code -9\)\)", after=at)
    events = MinerStageTracker(miner.data_dir / "miner_status.json").read_events(0)
    closed = [e for e in events if e["source"] == "module1" and e["username"] == "sample_creator"
              and e["status"] == "failed" and e["stage_number"] == 3]
    assert len(closed) == 1 and closed[0]["pid"] == module1
    assert closed[0]["details"] == {"exit_code": -9, "crashed": True, "by": "miner supervisor",
                                   "interrupted": False}

    restarted = miner.wait_line(r"🔁 Restarting Module 1 \(restart 1\)", after=crash)
    assert miner.module_pid("content_miner.pipeline") != module1
    # The restarted Module 1 takes the interrupted file back and processes the account again.
    miner.wait_line(
        r"✅ Stage 7 Complete - Complete for sample_creator - Pipeline completed", after=restarted, timeout=120
    )
    miner.wait_line(r"📈 Miner Status: Mode: watchdog \| Module 1: Running \| Module 2: Running", after=restarted)
    assert miner.stop() == 0


def test_module_crashing_at_start_up_ends_errored_after_the_configured_tries(
        start_miner: Callable[..., MinerRun], tmp_path: Path) -> None:
    # Some settings come from a bittensor-style --config file (nested and dotted keys); flags override it.
    config = tmp_path / "miner.yaml"
    config.write_text("status:\n  interval: 30\nblacklist:\n  burst: 2\nblacklist.requests_per_minute: 6\n"
                      "supervisor:\n  backoff_factor: 2\n  max_fast_failures: 3\n")
    miner = start_miner("--no_sample", "--module1.script", str(CRASHING_MODULE), "--config", str(config),
                        "--status.interval", "0.5", "--supervisor.backoff_start", "0.1", "--strict",
                        "--no_version_checking")
    miner.wait_line(r"💥 Module 1 crashed: exit code 3 after [\d.]+s, with no stage running; restart 1 in 0.1s")
    miner.wait_line(r"💥 Module 1 crashed: exit code 3 .*; restart 2 in 0.2s")
    last = miner.wait_line(r"💥 Module 1 crashed: exit code 3 .*; not restarting: 3 fast failures in a row \(errored\)")
    # A third restart would have been due 0.4 s after the last crash (0.1 x 2 x 2), and logged at the
    # supervisor's next check (every 0.2 s). Status lines come --status.interval (0.5 s) apart, so the
    # third one after the crash is at least 1 s later: a restart would have been logged before it.
    status = last
    for _ in range(3):
        status = miner.wait_line(STATUS_LINE + r"Module 1: errored \| Module 2: Running", after=status + 1)
    assert len(re.findall(r"🔁 Restarting Module 1", miner.log())) == 2
    assert (miner.data_dir / "logs" / "module1.log").read_text().count("refusing to start") == 3

    # Rate limit from the config file: a burst of 2, then 429 for the same (verified) hotkey.
    keys = mock_keys(miner.data_dir)
    client = MinerClient(keys.validator, axon_info(keys.miner_hotkey, keys.miner_coldkey, "127.0.0.1", miner.axon_port))
    codes = [run(client.status()).dendrite.status_code for _ in range(3)]
    run(client.close())
    assert codes == [200, 200, 429], codes

    # SIGKILL the miner itself: its modules die with it (PR_SET_PDEATHSIG), nothing is orphaned.
    tree = miner.tree()
    assert tree
    miner.send(signal.SIGKILL)
    _, alive = psutil.wait_procs(tree, timeout=5)
    assert not alive, [p.cmdline() for p in alive]


def test_frozen_module2_is_restarted_after_the_configured_failed_health_checks(
        start_miner: Callable[..., MinerRun]) -> None:
    miner = start_miner("--no_sample", "--status.interval", "0.2", "--supervisor.backoff_start", "0.2",
                        "--supervisor.health_interval", "0.2", "--supervisor.health_timeout", "0.5",
                        "--supervisor.health_failures", "3")
    ready = miner.wait_line(STATUS_LINE + r"Module 1: Running \| Module 2: Running")
    module2 = miner.module_pid("content_miner.images")
    os.kill(module2, signal.SIGSTOP)  # alive, but answers nothing: only the health check can tell
    unhealthy = miner.wait_line(STATUS_LINE + r"Module 1: Running \| Module 2: Unhealthy", after=ready)
    stopped = miner.wait_line(r"ERROR.*💥 Module 2 stopped after 3 failed health checks in a row \(it had run "
                              r"[\d.]+s\), with no stage running; restart 1 in 0.2s", after=unhealthy)
    assert not re.search(r"killed by|crashed", miner.lines()[stopped])
    restarted = miner.wait_line(r"🔁 Restarting Module 2 \(restart 1\)", after=stopped)
    assert miner.module_pid("content_miner.images") != module2
    miner.wait_line(STATUS_LINE + r"Module 1: Running \| Module 2: Running", after=restarted)
    assert len(re.findall(r"💥", miner.log())) == 1
    assert miner.stop() == 0


def test_bad_flags_and_a_taken_port_end_in_one_line(start_miner: Callable[..., MinerRun]) -> None:
    bad = start_miner("--status.interval", "soon")
    assert bad.process is not None and bad.process.wait(timeout=30) == 2
    assert bad.log().strip().splitlines() == [
        "neurons/miner.py: error: argument --status.interval: invalid float value: 'soon' (see --help)"]
    # bt.Axon asserts on its port (1024 < port < 65535): refused before it is built, in one line.
    for port in ("70000", "1024"):
        out_of_range = start_miner("--axon.port", port)
        assert out_of_range.process is not None and out_of_range.process.wait(timeout=30) == 2
        assert out_of_range.log().strip().splitlines() == [
            "neurons/miner.py: error: --axon.port must be 0 (any free port) or 1025-65534 "
            f"(bittensor's axon refuses other ports), got {port}"]
    too_slow = start_miner("--supervisor.stop_timeout", "60")
    assert too_slow.process is not None and too_slow.process.wait(timeout=30) == 2
    assert too_slow.log().strip().splitlines() == [
        ("neurons/miner.py: error: --supervisor.stop_timeout must be > 0 and at most 6 (the miner exits within 10 s "
         "of SIGTERM), got 60.0")]

    first = start_miner("--no_sample")
    first.wait_line("Stage monitoring activated")
    second = start_miner("--no_sample", "--axon.port", str(first.axon_port))
    assert second.process is not None and second.process.wait(timeout=30) == 1
    assert re.search(rf"ERROR.*Cannot start: cannot listen on 127.0.0.1:{first.axon_port}: Address already in use",
                     second.log())
    assert "Traceback" not in second.log()
    assert "Miner stopped" not in second.log()  # it never started
    assert first.stop() == 0
