"""Start a module so that it dies with the miner, even when the miner is SIGKILLed.

    python orphan_guard.py PARENT_PID PROGRAM [ARGS...]

Sets PR_SET_PDEATHSIG (SIGKILL) in the new process and then execs the module, which keeps the
setting. Done here rather than in a `preexec_fn`, which is unsafe in a process with threads.
If the parent is already gone when this runs, the module is not started at all.
"""

import ctypes
import os
import signal
import sys

PR_SET_PDEATHSIG = 1


def main() -> int:
    parent_pid, program = int(sys.argv[1]), sys.argv[2:]
    if sys.platform.startswith("linux"):
        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)
    if os.getppid() != parent_pid:  # the miner died before the setting took effect
        return 1
    os.execv(program[0], program)
    return 0  # not reached


if __name__ == "__main__":
    sys.exit(main())
