"""Rendering all images of one account's plan, reported as stage 1 ("Image Rendering") of source `module2`."""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from datetime import datetime, timezone

from content_miner.stage_calls import stage_complete, stage_failed, stage_progress, stage_start

from .catalog import ImageStatus, PlanCatalog
from .plan_files import LoadedPlan
from .renderer import CardRenderer
from .store import ImageStore

logger = logging.getLogger(__name__)

RENDER_STAGE = 1  # Module 2's own stage 1, "Image Rendering" (tracker/definitions.py)


class RenderInterrupted(Exception):
    """Shutdown was requested while an account was being rendered."""


class ImageGenerator:
    def __init__(
        self,
        renderer: CardRenderer,
        store: ImageStore,
        catalog: PlanCatalog,
        stopping: threading.Event,
        *,
        clock: Callable[[], datetime] = lambda: datetime.now(timezone.utc),
    ) -> None:
        self._renderer = renderer
        self._store = store
        self._catalog = catalog
        self._stopping = stopping
        self._clock = clock

    def render_account(self, loaded: LoadedPlan, done: frozenset[str] = frozenset()) -> bool:
        """Render the recommendations of `loaded` not in `done` (already on disk for this plan), then
        record the plan's fingerprint. True on success. Stops between cards once `stopping` is set."""
        key, plan = loaded.key, loaded.plan
        todo = [rec for rec in plan.recommendations if rec.id not in done]
        count = len(todo)
        details = {"platform": key.platform, "images": count, "plan_sha256": loaded.fingerprint[:16]}
        stage_start(
            RENDER_STAGE, f"Rendering {count} images for {key.username}", username=key.username, details=details
        )
        rendered = set(done)
        self._catalog.update(key, status=ImageStatus.RENDERING, rendered=frozenset(rendered), error=None)
        started = time.perf_counter()
        try:
            self._store.invalidate(key)
            stage_progress(RENDER_STAGE, 0, count, key.username)
            for number, rec in enumerate(todo, start=1):
                if self._stopping.is_set():
                    raise RenderInterrupted
                self._store.write_image(key, rec.id, self._renderer.render(plan, rec))
                stage_progress(RENDER_STAGE, number, count, key.username)  # throttled by the tracker
                self._catalog.count_image()
                rendered.add(rec.id)
                self._catalog.update(key, rendered=frozenset(rendered))
            record = self._store.record(
                key,
                loaded.fingerprint,
                self._renderer.name,
                [rec.id for rec in plan.recommendations],
                self._clock(),
            )
        except RenderInterrupted:
            logger.info("Rendering for %s interrupted by shutdown; it resumes on the next start", key.label)
            self._catalog.update(key, status=ImageStatus.PENDING)
            stage_failed(RENDER_STAGE, "Rendering interrupted by shutdown", username=key.username,
                         details={**details, "interrupted": True})
            return False
        except Exception as err:  # a bad value in one plan or a full disk must not stop the service
            reason = f"{type(err).__name__}: {err}"
            logger.warning("Rendering images for %s failed: %s; retried when the plan changes", key.label, reason)
            logger.debug("Rendering failure for %s", key.label, exc_info=True)
            self._catalog.update(key, status=ImageStatus.FAILED, error=reason)
            stage_failed(RENDER_STAGE, f"Error: {reason}", username=key.username, details=details)
            return False
        elapsed = time.perf_counter() - started
        previous = self._catalog.get(key)  # only this thread writes entries, so read-then-update is safe
        renders = previous.renders + 1 if previous else 1
        self._catalog.update(
            key,
            status=ImageStatus.READY,
            rendered_at=record.rendered_at,
            rendered=frozenset(rendered),
            error=None,
            renders=renders,
        )
        logger.info("Rendered %d images for %s in %.2fs", count, key.label, elapsed)
        stage_complete(
            RENDER_STAGE,
            f"Rendered {count} images for {key.username} in {elapsed:.1f}s",
            username=key.username,
            details={**details, "seconds": round(elapsed, 3), "items": count},  # items: the ETA learns per card
        )
        return True
