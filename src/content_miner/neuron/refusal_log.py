"""Refused requests as counts: at most one log line per caller and reason per interval.

bittensor logs every refusal at ERROR with the exception's text, which for a malformed header holds
every request header: 1 MB of headers wrote ~1 MB of log, and one client wrote 30 MB in 5 s. Here the
first refusal of a (hotkey, status, reason) is one line at once; the ones after it within the interval
are counted and reported in one line when the interval is over. Whatever comes from the request is
escaped (no control characters, no ANSI codes, ASCII only) and cut, so no line's length is the
request's to choose; the number of lines per interval is bounded too (random hotkeys are all new keys).
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

HOTKEY_CHARS = 64  # an ss58 address is 48
REASON_CHARS = 80
DETAIL_CHARS = 160
MAX_LINES_PER_INTERVAL = 50  # itemised lines; refusals past them are summed into one line
MAX_KEYS = 10_000  # tracked (hotkey, status, reason) keys; past them refusals are summed too
MAX_REASONS = 100  # reasons counted apart for /metrics (a fixed set in practice); past them: OTHER_REASON
OTHER_REASON = "other"


def short_text(value: object, limit: int) -> str:
    """`value` as printable ASCII (backslash escapes for the rest), at most `limit` characters plus a
    note of how much was cut."""
    text = str(value)
    cut = len(text) - limit
    if cut > 0:
        text = text[:limit]
    elif text.isascii() and text.isprintable():
        return text  # the usual case, on every refused request: nothing to do
    escaped = text.encode("ascii", "backslashreplace").decode("ascii")
    escaped = "".join(ch if " " <= ch <= "~" else f"\\x{ord(ch):02x}" for ch in escaped)
    if len(escaped) > limit:
        cut += len(escaped) - limit
        escaped = escaped[:limit]
    return f"{escaped}...(+{cut} chars)" if cut > 0 else escaped


@dataclass
class _Key:
    count: int = 0  # refusals not reported yet
    last_line: float = 0.0
    detail: str = ""
    error: bool = False


class RefusalLog:
    """Counts refused requests and logs them through `logger` (bt.logging: warning/error)."""

    def __init__(self, logger: Any, *, interval_s: float = 60.0, clock: Callable[[], float] = time.monotonic,
                 max_lines: int = MAX_LINES_PER_INTERVAL, max_keys: int = MAX_KEYS) -> None:
        self.logger = logger
        self.interval_s = interval_s
        self.clock = clock
        self.max_lines = max_lines
        self.max_keys = max_keys
        self._keys: dict[tuple[str, int, str], _Key] = {}
        self._window_start = clock()
        self._lines_in_window = 0
        self._unlisted = 0  # refusals past the line or key limit in this window
        self._unlisted_callers: set[str] = set()
        self._next_sweep = 0.0
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self.total = 0
        self._by_reason: dict[str, int] = {}  # since the start, never reset: /metrics's counters

    def by_reason(self) -> dict[str, int]:
        """Refused requests since the start, by reason (the kinds of refusal: a bounded set of texts)."""
        with self._lock:
            return dict(self._by_reason)

    def record(self, hotkey: str | None, status: int, reason: str, detail: str = "", *, counted: bool = True) -> None:
        """One refused request. `reason` is the kind of refusal (part of the key), `detail` the specifics
        of the latest one (shown, not counted apart). `counted=False`: a line about a refusal counted
        already (such as the cool-down it began), logged under the same limits but not counted again."""
        caller = short_text(hotkey, HOTKEY_CHARS) if hotkey else "an unknown caller"
        reason = short_text(reason, REASON_CHARS)
        detail = short_text(detail, DETAIL_CHARS) if detail else ""
        lines: list[tuple[bool, str]] = []
        with self._lock:
            now = self.clock()
            if counted:
                self.total += 1
                kind = reason if reason in self._by_reason or len(self._by_reason) < MAX_REASONS else OTHER_REASON
                self._by_reason[kind] = self._by_reason.get(kind, 0) + 1
            if now >= self._next_sweep:  # not on every request: a sweep looks at every key
                lines += self._roll_window(now)
            key = (caller, status, reason)
            entry = self._keys.get(key)
            if entry is None:
                if len(self._keys) >= self.max_keys or self._lines_in_window >= self.max_lines:
                    self._unlisted += 1
                    if len(self._unlisted_callers) < self.max_keys:
                        self._unlisted_callers.add(caller)
                else:
                    # A server error is the miner's fault (ERROR); a 503 (too many connections) is load (WARNING).
                    entry = self._keys[key] = _Key(count=1, detail=detail, error=status >= 500 and status != 503)
                    lines.append(self._line(key, entry, now, first=True))
            else:
                entry.count += 1
                entry.detail = detail
        self._emit(lines)

    def flush(self) -> None:
        """Report the counts whose interval is over (called every interval by the thread of `start`)."""
        with self._lock:
            lines = self._roll_window(self.clock())
        self._emit(lines)

    def start(self) -> RefusalLog:
        """A daemon thread that flushes every interval, so counts are reported when the refusals stop."""
        if self._thread is None:
            self._thread = threading.Thread(target=self._run, name="refusal-log", daemon=True)
            self._thread.start()
        return self

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=2)
            self._thread = None
        with self._lock:
            lines = self._roll_window(self.clock(), force=True)
        self._emit(lines)

    def _run(self) -> None:
        while not self._stop.wait(min(self.interval_s, 5.0)):
            try:
                self.flush()
            except Exception:  # never let logging end the thread
                pass

    # -- inside the lock ------------------------------------------------------------------------

    def _roll_window(self, now: float, *, force: bool = False) -> list[tuple[bool, str]]:
        """The lines due now: the summary of the window that ended, then each key's count whose interval
        is over, within the window's line limit (past it, counts are summed into the next summary)."""
        self._next_sweep = now + min(1.0, self.interval_s / 10)
        lines: list[tuple[bool, str]] = []
        if now - self._window_start >= self.interval_s:
            lines += self._close_window(now)
        for key, entry in list(self._keys.items()):
            if now - entry.last_line < self.interval_s and not force:
                continue
            if not entry.count:
                del self._keys[key]  # a whole interval without this refusal: forget it
            elif self._lines_in_window < self.max_lines:
                lines.append(self._line(key, entry, now, first=False))
            else:
                self._unlisted += entry.count
                if len(self._unlisted_callers) < self.max_keys:
                    self._unlisted_callers.add(key[0])
                entry.count, entry.last_line = 0, now
        if force:
            lines += self._close_window(now)
        return lines

    def _close_window(self, now: float) -> list[tuple[bool, str]]:
        lines: list[tuple[bool, str]] = []
        if self._unlisted:
            count, callers = self._unlisted, len(self._unlisted_callers)
            lines.append((False, f"Refused {count} more request{'s' if count != 1 else ''} from {callers} "
                                 f"caller(s) in {now - self._window_start:.0f} s, not listed one by one (at most "
                                 f"{self.max_lines} lines per {self.interval_s:g} s)"))
        self._window_start = now
        self._lines_in_window = 0
        self._unlisted = 0
        self._unlisted_callers = set()
        return lines

    def _line(self, key: tuple[str, int, str], entry: _Key, now: float, *, first: bool) -> tuple[bool, str]:
        caller, status, reason = key
        if first:
            what = "Refused a request"
        else:
            what = (f"Refused {entry.count} more request{'s' if entry.count != 1 else ''} in "
                    f"{now - entry.last_line:.0f} s")
        entry.count = 0
        entry.last_line = now
        self._lines_in_window += 1
        detail = f": {entry.detail}" if entry.detail and entry.detail != reason else ""
        return entry.error, f"{what} from {caller}: {status} {reason}{detail}"

    # -- outside the lock -----------------------------------------------------------------------

    def _emit(self, lines: list[tuple[bool, str]]) -> None:
        for error, text in lines:
            (self.logger.error if error else self.logger.warning)(text)
