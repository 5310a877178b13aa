"""Stage numbers, names and statuses: defined once, imported everywhere."""

from __future__ import annotations

from typing import Final

STAGE_NAMES: Final[dict[int, str]] = {
    0: "Initialization",
    1: "Data Scraping",
    2: "Data Retrieval",
    3: "Vector Database",
    4: "Time Series Analysis",
    5: "Content Generation",
    6: "Exportation",
    7: "Complete",
}

RUNNING: Final = "running"
COMPLETED: Final = "completed"
FAILED: Final = "failed"
STATUSES: Final = (RUNNING, COMPLETED, FAILED)


def stage_name(stage_number: object) -> str:
    """The stage's name; an unknown number is named `Stage N`."""
    if isinstance(stage_number, int) and stage_number in STAGE_NAMES:
        return STAGE_NAMES[stage_number]
    return f"Stage {stage_number}"
