"""Stage events: how a call becomes a record, and the clocks it is stamped with.

Building an event never raises: values that JSON cannot hold are stored as text. An event carries
two times: `timestamp` (wall clock, for people) and `mono` (a monotonic clock, for durations, so a
clock step during a stage cannot distort how long it took).
"""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .definitions import DEFAULTS, StageDefinitions

MAX_MESSAGE_CHARS = 1000
MAX_DETAILS_BYTES = 4096
MAX_NAME_CHARS = 200


def _monotonic_clock_id() -> str:
    """Which monotonic clock `time.monotonic()` reads. On Linux it is CLOCK_MONOTONIC, shared by every
    process of one boot (and one time namespace), so a stage started by one process and closed by
    another (the supervisor, for a dead module) is still timed by it. Elsewhere: this process only."""
    try:
        boot = Path("/proc/sys/kernel/random/boot_id").read_text().strip()
        offsets = Path("/proc/self/timens_offsets")
        return boot + (":" + offsets.read_text().replace("\n", " ") if offsets.exists() else "")
    except OSError:
        return f"process-{uuid.uuid4().hex}"


@dataclass(frozen=True)
class Clock:
    """The tracker's clocks; tests pass their own to step the wall clock without sleeping."""

    wall: Callable[[], float] = time.time
    mono: Callable[[], float] = time.monotonic
    id: str = field(default_factory=_monotonic_clock_id)


def _text(value: object, limit: int) -> str:
    try:
        text = value if isinstance(value, str) else str(value)
    except Exception:  # a __str__ that raises: keep a description instead
        text = f"<unprintable {type(value).__name__}>"
    if len(text) > limit:
        text = text[: limit - 1] + "…"
    return text


def details_json(details: object) -> str | None:
    """`details` as the JSON the log stores: a JSON-able dict of modest size as itself, anything else
    as its text (never raises). Encoded once, at the call: later mutation by the caller can't leak in."""
    if details is None:
        return None
    if isinstance(details, dict):
        try:
            encoded = json.dumps(details, ensure_ascii=False, allow_nan=False)
        except (TypeError, ValueError, RecursionError):
            encoded = None
        if encoded is not None and len(encoded.encode("utf-8")) <= MAX_DETAILS_BYTES:
            return encoded
    return json.dumps(_text(details, MAX_DETAILS_BYTES // 4), ensure_ascii=False)


def stage_number_of(value: object) -> int | str:
    """Stage numbers are ints; anything else is kept as short text so it still logs."""
    if isinstance(value, bool):
        return int(value)
    if isinstance(value, int):
        return value
    try:
        as_int = int(value)  # type: ignore[call-overload]
        if str(as_int) == str(value).strip():
            return as_int
    except (TypeError, ValueError, OverflowError):
        pass
    return _text(value, 40)


def new_event(status: str, stage_number: object, message: object, username: object, details: object, *,
              source: str, pid: int, clock: Clock, names: StageDefinitions = DEFAULTS) -> dict[str, Any]:
    """An event as a call makes it; the log gives it `seq` and `duration_s` when it is written. Its
    stage name is the writing source's (`names`)."""
    number = stage_number_of(stage_number)
    source = _text(source, MAX_NAME_CHARS)
    return {
        "timestamp": round(clock.wall(), 6),
        "mono": clock.mono(),
        "clock": clock.id,
        "stage_number": number,
        "stage_name": names.name(source, number),
        "status": status,
        "message": _text(message if message is not None else "", MAX_MESSAGE_CHARS),
        "username": _text(username if username is not None else "", MAX_NAME_CHARS),
        "details": details_json(details),  # JSON text
        "source": source,
        "pid": pid,
    }
