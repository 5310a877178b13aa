"""Stage events: how a call becomes a JSON-safe record.

An event is a plain dict whose first key is `seq`, so the status file can find an event's
sequence number without parsing the whole line (see `status_file.py`). Building one never raises:
values that JSON cannot hold are stored as text.
"""

from __future__ import annotations

import json
import time
from datetime import datetime, timezone
from typing import Any

from .stages import stage_name

MAX_MESSAGE_CHARS = 1000
MAX_DETAILS_BYTES = 4096  # one event line stays small, so the ring of 1,000 stays small too
MAX_NAME_CHARS = 200


def _text(value: object, limit: int) -> str:
    try:
        text = value if isinstance(value, str) else str(value)
    except Exception:  # a __str__ that raises: keep a description instead
        text = f"<unprintable {type(value).__name__}>"
    if len(text) > limit:
        text = text[: limit - 1] + "…"
    return text


def safe_details(details: object) -> dict[str, Any] | str | None:
    """`details` if it is a JSON-able dict of modest size, otherwise its text (never raises)."""
    if details is None:
        return None
    if isinstance(details, dict):
        try:
            encoded = json.dumps(details, ensure_ascii=False, allow_nan=False)
        except (TypeError, ValueError, RecursionError):
            encoded = None
        if encoded is not None and len(encoded.encode("utf-8")) <= MAX_DETAILS_BYTES:
            return json.loads(encoded)  # a detached copy: later mutation by the caller can't leak in
    return _text(details, MAX_DETAILS_BYTES // 4)


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


def new_event(
    status: str,
    stage_number: object,
    message: object,
    username: object,
    details: object,
    *,
    source: str,
    pid: int,
    clock: float | None = None,
) -> dict[str, Any]:
    """An event without `seq` yet (the writer numbers it under the lock)."""
    now = time.time() if clock is None else clock
    number = stage_number_of(stage_number)
    return {
        "seq": 0,
        "timestamp": round(now, 6),
        "time": datetime.fromtimestamp(now, timezone.utc).isoformat(timespec="milliseconds"),
        "stage_number": number,
        "stage_name": stage_name(number),
        "status": status,
        "message": _text(message if message is not None else "", MAX_MESSAGE_CHARS),
        "username": _text(username if username is not None else "", MAX_NAME_CHARS),
        "details": safe_details(details),
        "source": _text(source, MAX_NAME_CHARS),
        "pid": pid,
    }


def encode_event(event: dict[str, Any]) -> bytes:
    """One line of JSON, `seq` first, no newline inside (json escapes them)."""
    return json.dumps(event, ensure_ascii=False, separators=(",", ":")).encode("utf-8")
