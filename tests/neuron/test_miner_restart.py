"""A miner SIGKILLed while Module 1 is in Stage 3, then started again on the same data directory:
the stage its dead module left "running" is closed as failed before the new modules start, so
neither the status file nor the axon shows it running any more."""

from __future__ import annotations

import signal
from collections.abc import Callable

import psutil

from content_miner.common.layout import DataLayout
from content_miner.neuron.crash_marking import INTERRUPTED
from content_miner.neuron.miner_client import MinerClient, axon_info, mock_keys
from content_miner.pipeline.jobs import JobStore
from content_miner.tracker import MinerStageTracker
from support.miner import MinerRun, run
from support.waiting import wait_for


def test_a_stage_left_running_by_a_killed_miner_is_closed_when_it_starts_again(
        start_miner: Callable[..., MinerRun]) -> None:
    first = start_miner()  # queues the sample account
    module1 = first.freeze_module_in_stage("content_miner.pipeline", "module1", "sample_creator", 3)
    tree = first.tree()
    first.send(signal.SIGKILL)  # the modules die with it (the frozen one too): nobody closes Stage 3
    _, alive = psutil.wait_procs(tree, timeout=10)
    assert not alive, [p.pid for p in alive]
    tracker = MinerStageTracker(first.data_dir / "miner_status.json")
    stale = tracker.get_current_stage(source="module1", username="sample_creator")
    assert (stale["stage_number"], stale["status"], stale["pid"]) == (3, "running", module1)

    second = start_miner(data_dir=first.data_dir)  # --mock again: its sample is still under way
    second.wait_line(rf"ERROR.*❌ Stage 3 Failed - Vector Database for sample_creator - Error: {INTERRUPTED}")
    second.wait_line("Stage monitoring activated")
    second.wait_line("Mock mode: the sample account sample_creator is already queued or being processed")
    sample_jobs = [job for job in JobStore(DataLayout(first.data_dir).jobs).in_state("queued", "running", "done")
                   if job.username == "sample_creator"]
    assert len(sample_jobs) == 1, "queued once, whatever the restarts"
    assert "already exists" not in second.log()  # the mock wallets are reused quietly
    closed = [e for e in tracker.read_events(0) if e["source"] == "module1" and e["status"] == "failed"]
    assert [(e["stage_number"], e["username"], e["pid"]) for e in closed] == [(3, "sample_creator", module1)]
    assert closed[0]["message"] == INTERRUPTED
    assert closed[0]["details"] == {"exit_code": None, "crashed": True, "by": "miner start-up",
                                   "interrupted": False}  # work cut short by a kill: a failure

    # Closed before the new Module 1 started: each of its events comes after.
    new_module1 = second.module_pid("content_miner.pipeline")

    def new_events() -> list[dict]:
        return [e for e in tracker.read_events(0) if e["source"] == "module1" and e["pid"] == new_module1]

    assert all(event["seq"] > closed[0]["seq"] for event in wait_for(new_events, timeout=60, what="Module 1's events"))

    keys = mock_keys(second.data_dir)
    client = MinerClient(
        keys.validator, axon_info(keys.miner_hotkey, keys.miner_coldkey, "127.0.0.1", second.axon_port)
    )
    status = run(client.status(username="sample_creator"))
    run(client.close())
    assert status.dendrite.status_code == 200
    assert status.current and not [entry for entry in status.current
                                   if entry.status == "running" and entry.since == stale["since"]]
    assert second.stop() == 0


def test_a_request_accepted_before_a_restart_is_refused_as_a_replay_after_it(
        start_miner: Callable[..., MinerRun]) -> None:
    import httpx

    from content_miner_protocol import StageStatusSynapse

    first = start_miner("--no_sample")
    first.wait_line("Stage monitoring activated")
    keys = mock_keys(first.data_dir)
    client = MinerClient(keys.validator, axon_info(keys.miner_hotkey, keys.miner_coldkey, "127.0.0.1",
                                                   first.axon_port))
    # A long timeout header: bittensor's age check alone would let the replay through for a minute.
    path, headers, body = client.signed_request(StageStatusSynapse(events_limit=1), timeout=60.0)
    assert httpx.post(f"http://127.0.0.1:{first.axon_port}{path}", headers=headers, content=body,
                      timeout=30).status_code == 200
    assert first.stop() == 0
    second = start_miner("--no_sample", data_dir=first.data_dir)
    second.wait_line("Stage monitoring activated")
    replay = httpx.post(f"http://127.0.0.1:{second.axon_port}{path}", headers=headers, content=body, timeout=30)
    assert replay.status_code == 401 and "predates the miner's start" in replay.text, replay.text
    fresh = client.signed_request(StageStatusSynapse(events_limit=1), timeout=60.0)
    assert httpx.post(f"http://127.0.0.1:{second.axon_port}{fresh[0]}", headers=fresh[1], content=fresh[2],
                      timeout=30).status_code == 200
