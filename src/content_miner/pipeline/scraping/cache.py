"""The raw cache: Stage 1's results per account, reused to spare the provider.

One JSON file per account, `<data_dir>/raw_cache/<platform>/<username>.json` (by account key).
A cached result is reused only when it is younger than the maximum age, was fetched with a
post limit at least as generous as the one now asked for, and, for imports, came from a
source file with the same path and content (a re-exported archive is re-imported). A cache
file that cannot be read is a miss, never an error.
"""

from __future__ import annotations

import hashlib
import logging
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any, Literal

from pydantic import AwareDatetime, BaseModel, ConfigDict, ValidationError

from content_miner.common.account import AccountKey
from content_miner.common.atomic_files import write_bytes_atomic
from content_miner.common.layout import DataLayout
from content_miner.pipeline.models import RawPost, ScrapeResult

logger = logging.getLogger(__name__)


class RawCacheFile(BaseModel):
    """The cache file's format (pydantic: it is read back from disk)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    # 2: posts carry their format fields (reply, thread, quote, media, link, re-post, author). A
    # version-1 file lacks them, so it is a miss, not a plan built without formats.
    format_version: Literal[2] = 2
    platform: str
    username: str
    provider: str
    fetched_at: AwareDatetime
    max_posts: int | None  # the limit the fetch honoured; None: everything the provider had
    source_stamp: str | None  # see `source_stamp`; None for live providers
    posts: list[dict[str, Any]]


def source_stamp(path: Path) -> str:
    """Identifies a source file by absolute path and content (SHA-256); OSError if unreadable."""
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return f"{path.absolute()}#sha256={digest.hexdigest()}"


class RawCache:
    def __init__(self, layout: DataLayout) -> None:
        self.layout = layout

    def path_for(self, key: AccountKey) -> Path:
        directory = self.layout.account_raw_cache(key)  # checked to stay inside the cache
        return directory.with_name(directory.name + ".json")

    def load(
        self,
        key: AccountKey,
        *,
        now: datetime,
        max_age: timedelta,
        max_posts: int | None = None,
        source_stamp: str | None = None,
    ) -> ScrapeResult | None:
        """The cached result if it may be reused now (`from_cache=True`), else None."""
        path = self.path_for(key)
        username = key.username
        try:
            raw = path.read_bytes()
            if raw.startswith(b'{\n "format_version": 1,'):
                logger.debug("Raw cache for %s is of an older format: not reused", username)
                return None
            cached = RawCacheFile.model_validate_json(raw)
        except FileNotFoundError:
            return None
        except (OSError, ValidationError, ValueError) as exc:
            logger.warning("Ignoring unreadable raw cache %s: %s", path, str(exc).splitlines()[0])
            return None
        age = now - cached.fetched_at
        if age < timedelta(0) or age > max_age:
            logger.debug("Raw cache for %s is %s old: stale", username, age)
            return None
        if cached.source_stamp != source_stamp:
            logger.debug("Raw cache for %s came from another source: not reused", username)
            return None
        if cached.max_posts is not None and (max_posts is None or max_posts > cached.max_posts):
            logger.debug("Raw cache for %s holds fewer posts than asked for: not reused", username)
            return None
        return ScrapeResult(
            platform=cached.platform,
            username=cached.username,
            posts=tuple(RawPost.from_json(record) for record in cached.posts),
            provider=cached.provider,
            fetched_at=cached.fetched_at,
            from_cache=True,
            digest=hashlib.sha256(raw).hexdigest(),
        )

    def store(
        self, result: ScrapeResult, *, max_posts: int | None = None, source_stamp: str | None = None
    ) -> str:
        """Write `result` atomically and return the file's SHA-256; OSError if the file system refuses."""
        path = self.path_for(AccountKey.parse(result.platform, result.username))
        document = RawCacheFile(
            platform=result.platform,
            username=result.username,
            provider=result.provider,
            fetched_at=result.fetched_at,
            max_posts=max_posts,
            source_stamp=source_stamp,
            posts=[post.to_json() for post in result.posts],
        )
        data = document.model_dump_json(indent=1).encode("utf-8")
        write_bytes_atomic(path, data)
        return hashlib.sha256(data).hexdigest()
