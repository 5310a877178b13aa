"""Module 1's direct mode (one account now) and its stop on SIGINT/SIGTERM; watchdog mode (the inbox)
is `watchdog.InboxWatcher`."""

from __future__ import annotations

import logging
import threading

from content_miner.common.shutdown import ShutdownSignals
from content_miner.pipeline.account import AccountRequest
from content_miner.pipeline.pipeline import AccountPipeline, Shutdown, StageFailure
from content_miner.stage_calls import stage_complete

logger = logging.getLogger(__name__)


def interrupt_on(signals: ShutdownSignals, stop: threading.Event) -> None:
    """The first signal stops between accounts, or interrupts the current stage (exit code 0);
    later ones are ignored (`ShutdownSignals`), so the clean-up itself is never interrupted."""

    def on_signal(_signum: int) -> None:  # no logging in a signal handler: the loop says it
        stop.set()
        raise Shutdown()

    signals.then(on_signal)


def run_direct(pipeline: AccountPipeline, request: AccountRequest, *, force_fresh: bool) -> tuple[int, str]:
    """Direct mode, once the entry point has reported Stage 0 and checked the request: (exit code,
    one line for the user)."""
    stage_complete(0, "Direct processing mode initialized")
    message = f"Force fresh scraping for {request.username}" if force_fresh else None
    try:
        result = pipeline.run(request, scrape_message=message)
    except StageFailure as failure:
        return 1, f"Stage {failure.stage} failed for {request.username}: {failure.reason}"
    except Shutdown:
        return 130, f"Interrupted while processing {request.username}"
    return 0, f"Content plan for {request.username}: {result.plan_path} ({result.recommendations} recommendations)"
