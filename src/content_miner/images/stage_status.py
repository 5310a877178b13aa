"""The miner's live stage status, read through the tracker for the `/status` route."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

logger = logging.getLogger(__name__)


class TrackerUnavailable(RuntimeError):
    """The tracker module cannot be imported here, so there is no status to read."""


class StageStatusReader:
    """Reads the live state of one status file; never writes."""

    def __init__(self, status_file: Path) -> None:
        self.status_file = status_file
        self._tracker: Any = None

    def read(self, source: str | None = None) -> dict[str, Any]:
        """The tracker's `read_status()`, optionally with `current` narrowed to one source (module)."""
        if self._tracker is None:
            try:
                from content_miner.tracker import MinerStageTracker
            except Exception as err:  # missing or broken tracker: the service still serves plans and images
                raise TrackerUnavailable(f"stage tracker not available: {type(err).__name__}: {err}") from None
            self._tracker = MinerStageTracker(self.status_file, source="module2")
        try:
            status = dict(self._tracker.read_status())
        except Exception as err:  # the tracker promises not to raise; if it does, answer 503, don't crash the route
            logger.debug("Reading the stage status failed", exc_info=True)
            raise TrackerUnavailable(f"stage status unreadable: {type(err).__name__}: {err}") from None
        if source is not None:
            current = status.get("current") or {}
            status["current"] = {source: current.get(source, {})}
        return status
