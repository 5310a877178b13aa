"""The operator's log lines, exactly as DESIGN.md fixes them."""

from __future__ import annotations

from typing import Any

from .stages import COMPLETED, FAILED, RUNNING, stage_name

INFO = "info"
WARNING = "warning"
ERROR = "error"


def _who(event: dict[str, Any]) -> str:
    username = event.get("username") or ""
    return f" for {username}" if username else ""


def event_line(event: dict[str, Any]) -> tuple[str, str]:
    """(level, text) for one stage event."""
    number = event.get("stage_number")
    name = event.get("stage_name") or stage_name(number)
    message = str(event.get("message", ""))
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
        f"⚠️  Stage tracking: {count} stage {noun} not logged (they left the status file's "
        "ring before the reporter read them, and the stage history does not have them)",
    )


def restarted_line() -> tuple[str, str]:
    return WARNING, "⚠️  Stage tracking: the status file was recreated; following the new one"


def status_line(mode: str, modules: dict[str, str], current: dict[str, Any] | None) -> str:
    """`📈 Miner Status: Mode: watchdog | Module 1: Running | ... | Stage: Vector Database - running (elonmusk)`."""
    parts = [f"Mode: {mode}"] + [f"{name}: {state}" for name, state in modules.items()]
    if current and current.get("stage_name"):
        stage = f"{current['stage_name']} - {current.get('status', '')}"
        if current.get("username"):
            stage += f" ({current['username']})"
    else:
        stage = "idle"
    parts.append(f"Stage: {stage}")
    return "📈 Miner Status: " + " | ".join(parts)
