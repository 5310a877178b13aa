"""The operator's log lines, exactly as DESIGN.md fixes them."""

from __future__ import annotations

import re
from typing import Any

from .stages import COMPLETED, FAILED, RUNNING, stage_name

INFO = "info"
WARNING = "warning"
ERROR = "error"


# Control characters (newlines, ANSI escapes) and bidirectional overrides in a username or message
# could forge or disguise log lines; they are shown escaped ("\\n"), so each event stays one line.
_UNSAFE = re.compile(r"[\x00-\x1f\x7f-\x9f\u2028\u2029\u202a-\u202e\u2066-\u2069]")


def _safe(text: object) -> str:
    return _UNSAFE.sub(lambda match: match.group().encode("unicode_escape").decode("ascii"), str(text))


def _who(event: dict[str, Any]) -> str:
    username = _safe(event.get("username") or "")
    return f" for {username}" if username else ""


def event_line(event: dict[str, Any]) -> tuple[str, str]:
    """(level, text) for one stage event."""
    number = event.get("stage_number")
    name = _safe(event.get("stage_name") or stage_name(number))
    message = _safe(event.get("message", ""))
    status = event.get("status")
    if status == COMPLETED:
        return INFO, f"✅ Stage {number} Complete - {name}{_who(event)} - {message}"
    if status == FAILED:
        if not message.lower().startswith("error"):
            message = f"Error: {message}"
        return ERROR, f"❌ Stage {number} Failed - {name}{_who(event)} - {message}"
    if status != RUNNING:
        message = f"{message} ({status})"
    return INFO, f"⚙️  Stage {number} - {name}{_who(event)}: {message}"


def missed_line(count: int) -> tuple[str, str]:
    noun = "transition was" if count == 1 else "transitions were"
    return (
        WARNING,
        f"⚠️  Stage tracking: {count} stage {noun} not logged (the stage log no longer had them "
        "when the reporter got to them)",
    )


def restarted_line() -> tuple[str, str]:
    return WARNING, "⚠️  Stage tracking: the stage log was recreated; following the new one"


def status_line(mode: str, modules: dict[str, str], current: dict[str, Any] | None) -> str:
    """`📈 Miner Status: Mode: watchdog | Module 1: Running | ... | Stage: Vector Database - running (elonmusk)`."""
    parts = [f"Mode: {mode}"] + [f"{name}: {state}" for name, state in modules.items()]
    if current and current.get("stage_name"):
        stage = _safe(f"{current['stage_name']} - {current.get('status', '')}")
        if current.get("username"):
            stage += f" ({_safe(current['username'])})"
    else:
        stage = "idle"
    parts.append(f"Stage: {stage}")
    return "📈 Miner Status: " + " | ".join(parts)
