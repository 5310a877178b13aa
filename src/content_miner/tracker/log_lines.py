"""The operator's log lines, exactly as DESIGN.md fixes them."""

from __future__ import annotations

import re
from typing import Any

from .definitions import DEFAULTS, StageDefinitions
from .live import LiveStage, short_duration
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


def event_line(event: dict[str, Any], definitions: StageDefinitions = DEFAULTS) -> tuple[str, str]:
    """(level, text) for one stage event. The pipeline's lines are exactly the spec's; another
    source's lines name it (`⚙️  [Module 2] Stage 1 - ...`) so the operator knows who spoke. A stage
    closed as interrupted (a planned stop, or an idle wait cut short) is a warning, not a failure."""
    number = event.get("stage_number")
    name = _safe(event.get("stage_name") or stage_name(number))
    message = _safe(event.get("message", ""))
    status = event.get("status")
    source = definitions.source(str(event.get("source") or ""))
    who = "" if source.pipeline else f"[{_safe(source.display)}] "
    if status == COMPLETED:
        return INFO, f"✅ {who}Stage {number} Complete - {name}{_who(event)} - {message}"
    if status == FAILED and is_interruption(event):
        return WARNING, f"⚠️  {who}Stage {number} Interrupted - {name}{_who(event)} - {message}"
    if status == FAILED:
        if not message.lower().startswith("error"):
            message = f"Error: {message}"
        return ERROR, f"❌ {who}Stage {number} Failed - {name}{_who(event)} - {message}"
    if status != RUNNING:
        message = f"{message} ({status})"
    return INFO, f"⚙️  {who}Stage {number} - {name}{_who(event)}: {message}"


def is_interruption(event: dict[str, Any]) -> bool:
    """A stage closed because its module was stopped on purpose, or an idle wait cut short: the
    writer says so with `details.interrupted`."""
    details = event.get("details")
    return isinstance(details, dict) and details.get("interrupted") is True


def missed_line(count: int) -> tuple[str, str]:
    noun = "transition was" if count == 1 else "transitions were"
    return (
        WARNING,
        f"⚠️  Stage tracking: {count} stage {noun} not logged (the stage log no longer had them "
        "when the reporter got to them)",
    )


def restarted_line() -> tuple[str, str]:
    return WARNING, "⚠️  Stage tracking: the stage log was recreated; following the new one"


def status_line(mode: str, modules: dict[str, str], current: LiveStage | None) -> str:
    """`📈 Miner Status: Mode: watchdog | Module 1: Running | ... | Stage: Vector Database - running (elonmusk)`,
    with how far it is and what is left when known (`40% | ETA 1m 20s`), `stalled`, or `idle`."""
    parts = [f"Mode: {mode}"] + [f"{name}: {state}" for name, state in modules.items()]
    stage = "idle"
    if current is not None and current.state != "idle" and current.stage_name:
        stage = _safe(f"{current.stage_name} - {current.state}")
        if current.username:
            stage += f" ({_safe(current.username)})"
        if current.fraction is not None:
            stage += f" {current.fraction:.0%}"
        if current.state == "stalled":
            stage += f", no progress for {short_duration(current.quiet_s)}"
        elif current.eta_s is not None:
            stage += f" | ETA {short_duration(current.eta_s)}"
            if current.pipeline_eta_s is not None and current.username:
                stage += f" (plan in ~{short_duration(current.pipeline_eta_s)})"
    parts.append(f"Stage: {stage}")
    return "📈 Miner Status: " + " | ".join(parts)
