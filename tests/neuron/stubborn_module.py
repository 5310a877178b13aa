"""A stand-in module that stays up through SIGTERM (and says so), for supervisor tests only."""

import signal
from types import FrameType


def on_term(_signum: int, _frame: FrameType | None) -> None:
    print("stubborn_module: got SIGTERM, staying up", flush=True)


signal.signal(signal.SIGTERM, on_term)
print("stubborn_module: ready", flush=True)
while True:
    signal.pause()
