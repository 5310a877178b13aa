"""The image generator: store, catalog, renderer and watcher wired together, started and stopped as one."""

from __future__ import annotations

import logging
import threading
import time

from .catalog import PlanCatalog
from .generator import ImageGenerator
from .renderer import CardRenderer
from .settings import ServiceSettings
from .stage_status import StageStatusReader
from .store import ImageStore
from .watcher import PlanWatcher

logger = logging.getLogger(__name__)

STOP_JOIN_S = 1.5  # the watcher checks the stop event between cards; a card takes ~50 ms (see server.py's budget)


class ImageService:
    def __init__(self, settings: ServiceSettings, renderer: CardRenderer) -> None:
        self.settings = settings
        self.renderer = renderer
        self.started_monotonic = time.monotonic()
        self.stopping = threading.Event()
        self.catalog = PlanCatalog()
        self.store = ImageStore(settings.layout.images)
        self.stage_status = StageStatusReader(settings.layout.status_file)
        generator = ImageGenerator(renderer, self.store, self.catalog, self.stopping)
        self.watcher = PlanWatcher(
            settings.layout.exports,
            self.catalog,
            self.store,
            generator,
            renderer.name,
            poll_interval_s=settings.poll_interval_s,
            stopping=self.stopping,
        )

    @property
    def uptime_s(self) -> float:
        return time.monotonic() - self.started_monotonic

    def start(self) -> None:
        self.watcher.start()

    def request_stop(self) -> None:
        """Ask the watcher to stop; safe from a signal handler (sets an event, nothing else)."""
        self.stopping.set()

    def stop(self, timeout_s: float = STOP_JOIN_S) -> None:
        self.stopping.set()
        if not self.watcher.join(timeout_s):
            logger.warning("Plan watcher did not stop within %.1fs; exiting anyway", timeout_s)
