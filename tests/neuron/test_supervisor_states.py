"""The supervisor's module states are read by the axon's event loop and the status line: they must
answer at once, even while the supervisor is busy stopping (or killing) a module."""

from __future__ import annotations

import os
import signal
import sys
import threading
from pathlib import Path

from content_miner.neuron.module_process import ModuleSpec
from content_miner.neuron.restart_policy import RestartPolicy
from content_miner.neuron.supervisor import ModuleSupervisor
from content_miner.tracker import MinerStageTracker
from support.waiting import wait_for

STUBBORN_MODULE = Path(__file__).with_name("stubborn_module.py")


class OperatorLog:
    """Where the supervisor's lines go (bt.logging in the miner)."""

    def __init__(self) -> None:
        self.lines: list[str] = []

    def info(self, text: str) -> None:
        self.lines.append(text)

    warning = error = info


def test_states_answer_while_a_module_that_ignores_sigterm_is_being_stopped(tmp_path: Path) -> None:
    log_file = tmp_path / "stubborn.log"
    spec = ModuleSpec(label="Module S", source="stubborn", description="stays up through SIGTERM",
                      argv=[sys.executable, str(STUBBORN_MODULE)], log_file=log_file, cwd=tmp_path)
    tracker = MinerStageTracker(tmp_path / "miner_status.json", source="miner")
    supervisor = ModuleSupervisor([spec], RestartPolicy(), tracker, OperatorLog())
    stopping = threading.Thread(target=supervisor.stop, kwargs={"timeout_s": 5.0})
    supervisor.start()
    try:
        wait_for(lambda: log_file.is_file() and "ready" in log_file.read_text(), timeout=30, what="the module")
        stopping.start()
        # From here the supervisor waits (up to 5 s) for the module it sent SIGTERM to.
        wait_for(lambda: "got SIGTERM" in log_file.read_text(), timeout=10, what="the SIGTERM")
        states = supervisor.states()
        assert stopping.is_alive(), "states() waited for the stop to finish"
        assert states == {"Module S": "Running"}
    finally:
        pid = supervisor.pids()["Module S"]
        if pid is not None:
            os.kill(pid, signal.SIGKILL)  # ends the stop now rather than after its 5 s
        if stopping.ident is not None:
            stopping.join(timeout=10)
        else:  # it failed before the stop began
            supervisor.stop(timeout_s=1.0)
    assert not stopping.is_alive()
    assert supervisor.states() == {"Module S": "Stopped"}
