"""How the miner's 10 s to exit after SIGINT/SIGTERM are shared out, defined once.

The promise (DESIGN.md, and pm2's `kill_timeout` in contrib/ecosystem.config.js) is an exit within
10 s. Stopping the axon only sets a flag, and health probes run in their own threads, so the steps
that take time are the ones below; `--supervisor.stop_timeout` gets what is left and is refused
above that, so no setting can break the promise.
"""

from __future__ import annotations

SHUTDOWN_LIMIT_S = 10.0
KILL_WAIT_S = 1.0  # after SIGKILL: the kernel ends the process at once; this only covers reaping it
REPORTER_STOP_S = 1.0  # the reporter's last poll, so the modules' final stage lines are logged
TRACKER_CLOSE_S = 0.5  # flush and fold the miner's own stage events
EXIT_MARGIN_S = 1.5  # the supervisor's current step, bt.logging's listener, the interpreter's exit

MAX_STOP_TIMEOUT_S = SHUTDOWN_LIMIT_S - (KILL_WAIT_S + REPORTER_STOP_S + TRACKER_CLOSE_S + EXIT_MARGIN_S)
