"""When to restart a crashed module: exponential backoff, reset by a stable run, capped by fast failures.

Pure logic with the time passed in, so it is tested without sleeping.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class RestartPolicy:
    initial_delay_s: float = 1.0
    factor: float = 2.0
    max_delay_s: float = 60.0
    stable_after_s: float = 60.0  # a run at least this long counts as healthy: the backoff starts over
    max_fast_failures: int = 5  # this many short runs in a row and the module is left `errored`

    def __post_init__(self) -> None:
        if self.initial_delay_s < 0 or self.max_delay_s < self.initial_delay_s:
            raise ValueError("restart delays: need 0 <= initial <= max")
        if self.factor < 1:
            raise ValueError("restart backoff factor must be >= 1")
        if self.max_fast_failures < 1:
            raise ValueError("max fast failures must be >= 1")


@dataclass(frozen=True)
class RestartDecision:
    restart: bool
    delay_s: float
    restart_number: int  # 1 for the first restart of this module
    fast_failures: int


class RestartBackoff:
    """The restart history of one module."""

    def __init__(self, policy: RestartPolicy) -> None:
        self.policy = policy
        self.fast_failures = 0
        self.restarts = 0

    def after_exit(self, run_duration_s: float) -> RestartDecision:
        """Decide what follows an unexpected exit after a run of `run_duration_s` seconds."""
        if run_duration_s >= self.policy.stable_after_s:
            self.fast_failures = 0
        self.fast_failures += 1
        if self.fast_failures >= self.policy.max_fast_failures:
            return RestartDecision(False, 0.0, self.restarts, self.fast_failures)
        delay = min(self.policy.max_delay_s,
                    self.policy.initial_delay_s * self.policy.factor ** (self.fast_failures - 1))
        self.restarts += 1
        return RestartDecision(True, delay, self.restarts, self.fast_failures)
