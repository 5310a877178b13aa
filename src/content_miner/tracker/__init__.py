"""The stage tracker: the spec's API (`Miners/miner_stage_tracker.py` re-exports it).

    from content_miner.tracker import stage_start, stage_complete, stage_failed, get_tracker
"""

from content_miner.tracker.api import (
    COMPLETED,
    FAILED,
    RUNNING,
    STAGE_NAMES,
    Clock,
    Cursor,
    MinerStageReporter,
    MinerStageTracker,
    ReadBatch,
    Retention,
    configure,
    event_line,
    get_current_stage,
    get_tracker,
    reset_stages,
    set_source,
    stage_complete,
    stage_failed,
    stage_name,
    stage_progress,
    stage_start,
    status_line,
)

__all__ = [
    "COMPLETED", "FAILED", "RUNNING", "STAGE_NAMES", "Clock", "Cursor", "MinerStageReporter",
    "MinerStageTracker", "ReadBatch", "Retention", "configure", "event_line", "get_current_stage", "get_tracker",
    "reset_stages", "set_source", "stage_complete", "stage_failed", "stage_name", "stage_progress", "stage_start",
    "status_line",
]
