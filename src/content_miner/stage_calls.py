"""The pipeline's stage calls, or harmless no-ops when the tracker cannot be imported.

Module 1 and Module 2 import `stage_start`, `stage_complete` and `stage_failed` from here, so a
broken or missing tracker never stops the work it reports on (SPEC: "Self-Healing").
"""

from __future__ import annotations

import os
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from content_miner.tracker.definitions import StageDefinitions

try:
    from content_miner.tracker import (
        configure,
        set_source,
        stage_complete,
        stage_failed,
        stage_progress,
        stage_start,
    )

    TRACKING_AVAILABLE = True
except Exception:  # ImportError, or anything the tracker's import chain raises
    TRACKING_AVAILABLE = False

    def stage_start(stage_number: int, message: str, username: str = "", details: Any = None) -> None:
        return None

    def stage_complete(stage_number: int, message: str, username: str = "", details: Any = None) -> None:
        return None

    def stage_failed(stage_number: int, message: str, username: str = "", details: Any = None) -> None:
        return None

    def stage_progress(stage_number: int, done: int, total: int, username: str = "") -> None:
        return None

    def set_source(source: str) -> None:
        return None

    def configure(status_file: str | os.PathLike[str], *, source: str | None = None,
                  definitions: StageDefinitions | None = None) -> None:
        return None


__all__ = ["TRACKING_AVAILABLE", "configure", "set_source", "stage_complete", "stage_failed", "stage_progress",
           "stage_start"]
