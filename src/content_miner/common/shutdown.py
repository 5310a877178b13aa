"""SIGINT and SIGTERM for one process, caught from its first lines on, acted on once.

pm2 stops a process tree by sending SIGINT to every process in it, and the miner then sends SIGTERM
to its modules: a module sees two signals in a row. The first one starts the stop (the actions
registered with `then`); every later one is noted in one line and otherwise ignored, so a second
signal can never interrupt the clean-up with a traceback. Installed before the heavy imports, a
signal during start-up is remembered and the entry point stops before serving.
"""

from __future__ import annotations

import atexit
import os
import signal
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from types import FrameType

STOP_SIGNALS = (signal.SIGINT, signal.SIGTERM)


class ShutdownSignals:
    def __init__(self, name: str) -> None:
        self.name = name  # the program, for the "already stopping" line
        self.requested = threading.Event()
        self.signals: list[int] = []
        self._actions: list[Callable[[int], None]] = []

    def install(self) -> ShutdownSignals:
        for signum in STOP_SIGNALS:
            signal.signal(signum, self._received)
        atexit.register(self._ignore_from_now)
        return self

    def _ignore_from_now(self) -> None:
        """At exit, after the program's own clean-up: stop signals are ignored from here on. Python puts
        the default action back for its handlers as it finalises, and native libraries' teardown
        (onnxruntime, Chroma) then takes most of a second, in which pm2's SIGTERM after its SIGINT killed
        the process (exit -15) instead of letting it end with its code. An ignored signal stays ignored."""
        for signum in STOP_SIGNALS:
            try:
                signal.signal(signum, signal.SIG_IGN)
            except (ValueError, OSError):  # not the main thread, or the platform refuses: nothing to do
                pass

    def then(self, action: Callable[[int], None]) -> None:
        """Run `action(signum)` on the first signal, if it comes after this call (check `first`)."""
        self._actions.append(action)

    @property
    def first(self) -> str | None:
        return signal.Signals(self.signals[0]).name if self.signals else None

    def _received(self, signum: int, _frame: FrameType | None) -> None:
        self.signals.append(signum)
        if len(self.signals) > 1:
            # os.write: a signal handler must not take the logging module's locks.
            line = f"{self.name}: received {signal.Signals(signum).name} while stopping; already stopping\n"
            try:
                os.write(2, line.encode())
            except OSError:
                pass
            return
        self.requested.set()
        for action in list(self._actions):
            action(signum)


class StopDuringStartUp(BaseException):
    """A stop signal arrived while the program was still starting (a BaseException, like
    KeyboardInterrupt, so no `except Exception` on the way swallows it)."""


@contextmanager
def starting_up(signals: ShutdownSignals) -> Iterator[None]:
    """While the block runs (the heavy imports, opening files and sockets), the first SIGINT/SIGTERM
    interrupts it at once with StopDuringStartUp, instead of the program finishing a start that takes
    seconds on a busy machine only to stop."""
    active = True

    def interrupt(_signum: int) -> None:
        if active:
            raise StopDuringStartUp()

    signals.then(interrupt)
    if signals.first is not None:
        raise StopDuringStartUp()
    try:
        yield
    finally:
        active = False
    if signals.first is not None:
        # The handler's StopDuringStartUp was swallowed on the way (a library's bare `except:` around an
        # import, seen in numpy's): the signal is not lost for that, the start ends here.
        raise StopDuringStartUp()


SIGNAL_SLICE_S = 0.25


def wait(event: threading.Event, seconds: float) -> bool:
    """`event.wait(seconds)` for the main thread, in short slices: a signal the kernel hands to
    another thread only sets a flag, and Python runs the handler when the main thread next runs
    Python code; a main thread asleep in one long wait would take the stop that late (measured: a
    miner with a 30 s status interval ignored SIGINT + SIGTERM until the interval ran out)."""
    deadline = time.monotonic() + seconds
    while True:
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            return event.is_set()
        if event.wait(min(SIGNAL_SLICE_S, remaining)):
            return True
