"""The supervisor with real processes: a module SIGKILLed mid-stage, a module that never starts,
the miner SIGKILLed itself, and the per-hotkey rate limit."""

from __future__ import annotations

import os
import re
import signal
import time
from collections.abc import Callable
from pathlib import Path

import psutil
from miner_harness import MinerRun, run
from miner_neuron.miner_client import MinerClient, axon_info, mock_keys
from miner_stage_tracker import MinerStageTracker

CRASHING_MODULE = Path(__file__).with_name("crashing_module.py")


def test_module1_killed_in_stage_3_is_reported_closed_restarted_and_finishes_the_account(
        start_miner: Callable[..., MinerRun]) -> None:
    miner = start_miner("--supervisor.backoff_start", "0.5", "--status.interval", "1")  # queues the sample account
    at = miner.wait_line(r"⚙️  Stage 3 - Vector Database for sample_creator", timeout=90)
    module1 = miner.module_pid("Miners/main.py")
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
    assert closed[0]["details"] == {"exit_code": -9, "crashed": True, "by": "miner supervisor"}

    restarted = miner.wait_line(r"🔁 Restarting Module 1 \(restart 1\)", after=crash)
    assert miner.module_pid("Miners/main.py") != module1
    # The restarted Module 1 takes the interrupted file back and processes the account again.
    miner.wait_line(r"✅ Stage 7 Complete - Complete for sample_creator - Pipeline completed", after=restarted, timeout=120)
    miner.wait_line(r"📈 Miner Status: Mode: watchdog \| Module 1: Running \| Module 2: Running", after=restarted)
    assert miner.stop() == 0


def test_module_crashing_at_start_up_ends_errored_after_the_configured_tries(
        start_miner: Callable[..., MinerRun]) -> None:
    miner = start_miner("--no_sample", "--module1.script", str(CRASHING_MODULE), "--status.interval", "0.5",
                        "--supervisor.backoff_start", "0.1", "--supervisor.backoff_factor", "2",
                        "--supervisor.max_fast_failures", "3", "--blacklist.requests_per_minute", "6",
                        "--blacklist.burst", "2")
    miner.wait_line(r"💥 Module 1 crashed: exit code 3 after [\d.]+s, with no stage running; restart 1 in 0.1s")
    miner.wait_line(r"💥 Module 1 crashed: exit code 3 .*; restart 2 in 0.2s")
    last = miner.wait_line(r"💥 Module 1 crashed: exit code 3 .*; not restarting: 3 fast failures in a row \(errored\)")
    miner.wait_line(r"📈 Miner Status: Mode: watchdog \| Module 1: errored \| Module 2: Running", after=last)
    time.sleep(0.5)  # no further restart may follow (checked below on the whole log)
    assert len(re.findall(r"🔁 Restarting Module 1", miner.log())) == 2
    assert (miner.data_dir / "logs" / "module1.log").read_text().count("refusing to start") == 3

    # Rate limit: a burst of 2, then 429 for the same (verified) hotkey.
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


def test_bad_flags_and_a_taken_port_end_in_one_line(start_miner: Callable[..., MinerRun]) -> None:
    bad = start_miner("--status.interval", "soon")
    assert bad.process is not None and bad.process.wait(timeout=30) == 2
    assert bad.log().strip().splitlines() == ["neurons/miner.py: error: argument --status.interval: invalid float value: "
                                              "'soon' (see --help)"]

    first = start_miner("--no_sample")
    first.wait_line("Stage monitoring activated")
    second = start_miner("--no_sample", "--axon.port", str(first.axon_port))
    assert second.process is not None and second.process.wait(timeout=30) == 1
    assert re.search(rf"ERROR.*Cannot start: cannot listen on 127.0.0.1:{first.axon_port}: Address already in use",
                     second.log())
    assert "Traceback" not in second.log()
    assert first.stop() == 0
