"""Per-minute rates from counters that only grow (the axon's requests and refusals so far).

The hub samples each counter about once a second; the rate is the growth over the last minute
(scaled up while less than a minute has been seen), and the history keeps one total per minute for
the last `MINUTES` minutes, for a sparkline. Memory is bounded: at most one sample per second for a
minute, and `MINUTES` totals.
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass, field

WINDOW_S = 60.0
MINUTES = 30


@dataclass
class CounterRate:
    samples: deque[tuple[float, int]] = field(default_factory=deque)  # (monotonic time, value), last minute
    minutes: deque[tuple[int, int]] = field(default_factory=lambda: deque(maxlen=MINUTES))  # (minute, growth)
    _minute_start: tuple[int, int] | None = None  # (minute, value at its start)

    def add(self, at: float, value: int | None, wall: float) -> None:
        """A reading of the counter at monotonic time `at` (wall-clock `wall`, for the minutes)."""
        if value is None:
            return
        if self.samples and value < self.samples[-1][1]:  # the counter was reset: start over
            self.samples.clear()
            self._minute_start = None
        self.samples.append((at, value))
        while len(self.samples) > 2 and at - self.samples[1][0] >= WINDOW_S:
            self.samples.popleft()
        minute = int(wall // 60)
        if self._minute_start is None:
            self._minute_start = (minute, value)
        elif minute != self._minute_start[0]:
            self.minutes.append((self._minute_start[0], value - self._minute_start[1]))
            self._minute_start = (minute, value)

    def per_minute(self) -> float | None:
        if len(self.samples) < 2:
            return None
        (first_at, first), (last_at, last) = self.samples[0], self.samples[-1]
        span = last_at - first_at
        if span <= 0:
            return None
        return (last - first) * WINDOW_S / span  # growth over the last minute, or scaled up to one

    def total(self) -> int | None:
        return self.samples[-1][1] if self.samples else None

    def history(self) -> list[list[int]]:
        """[[minute start (epoch s), growth in that minute], ...] for the finished minutes."""
        return [[minute * 60, growth] for minute, growth in self.minutes]
