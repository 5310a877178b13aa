"""A module's log file is kept under its cap while the module keeps writing to it."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from content_miner.neuron.log_cap import LogCap
from support.waiting import wait_for

WRITER = (
    "import itertools, time\n"
    "for i in itertools.count():\n"
    "    print(f'line {i:08d} ' + 'x' * 90, flush=True)\n"
    "    time.sleep(0.001)\n"
)


def test_a_growing_log_is_copied_aside_and_emptied_while_the_writer_goes_on(tmp_path: Path) -> None:
    log = tmp_path / "module1.log"
    with log.open("ab") as out:  # as the supervisor opens it: append mode, inherited by the child
        writer = subprocess.Popen([sys.executable, "-c", WRITER], stdout=out, stderr=subprocess.STDOUT)
    try:
        cap = LogCap(log, max_bytes=20_000, keep=2)
        for _ in range(3):  # three rotations: .1 and .2 kept, the oldest dropped
            wait_for(lambda: log.stat().st_size > 20_000, timeout=30, what="the log to pass the cap")
            assert cap.check()
        wait_for(lambda: log.stat().st_size > 500, timeout=30, what="new lines after the last rotation")
    finally:
        writer.kill()
        writer.wait(timeout=10)
    assert sorted(path.name for path in tmp_path.iterdir()) == ["module1.log", "module1.log.1", "module1.log.2"]
    current = log.read_bytes()
    assert b"\x00" not in current, "the writer's next line went to the new end, not past a hole"
    assert current.startswith(b"line ")
    first = [int(line.split()[1]) for line in cap.copy_name(1).read_text().splitlines()[:1]]
    older = [int(line.split()[1]) for line in cap.copy_name(2).read_text().splitlines()[:1]]
    assert older < first, ".2 holds older lines than .1"
    assert not cap.check(), "under the cap: left alone"
