"""What the service knows about each account right now: its plan and its images' status.

Written by the watcher thread, read by the HTTP handlers; entries are immutable and replaced
whole under a lock, so a reader always sees one consistent entry.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass, replace
from datetime import datetime
from enum import Enum

from content_miner.common.account import AccountKey

from .plan_files import LoadedPlan


class ImageStatus(str, Enum):
    PENDING = "pending"  # plan read, images not rendered yet
    RENDERING = "rendering"
    READY = "ready"  # every recommendation has its image
    FAILED = "failed"  # rendering failed; retried when the plan changes
    INVALID_PLAN = "invalid_plan"  # the plan file cannot be used; retried when it changes


@dataclass(frozen=True)
class AccountEntry:
    key: AccountKey
    plan: LoadedPlan | None  # the last valid plan; kept while a newer file version is invalid
    status: ImageStatus
    # Recommendations whose image on disk was rendered from `plan`: only these are served. While a
    # changed plan renders, the files of the others still hold the previous plan's cards.
    rendered: frozenset[str] = frozenset()
    rendered_at: datetime | None = None
    error: str | None = None  # why the status is FAILED or INVALID_PLAN, or why the file was skipped
    renders: int = 0  # renders of this account by this process

    @property
    def images_ready(self) -> int:
        return len(self.rendered)


class PlanCatalog:
    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._entries: dict[AccountKey, AccountEntry] = {}
        self.images_rendered = 0  # by this process; a restart that re-renders nothing leaves it at 0

    def get(self, key: AccountKey) -> AccountEntry | None:
        with self._lock:
            return self._entries.get(key)

    def entries(self) -> list[AccountEntry]:
        with self._lock:
            return [self._entries[key] for key in sorted(self._entries)]

    def keys(self) -> set[AccountKey]:
        with self._lock:
            return set(self._entries)

    def put(self, entry: AccountEntry) -> None:
        with self._lock:
            self._entries[entry.key] = entry

    def update(self, key: AccountKey, **changes: object) -> AccountEntry | None:
        with self._lock:
            current = self._entries.get(key)
            if current is None:
                return None
            updated = replace(current, **changes)  # type: ignore[arg-type]
            self._entries[key] = updated
            return updated

    def remove(self, key: AccountKey) -> None:
        with self._lock:
            self._entries.pop(key, None)

    def count_image(self) -> None:
        with self._lock:
            self.images_rendered += 1
