"""The rendered images on disk and the record of what they were rendered from."""

from __future__ import annotations

import logging
import threading
from datetime import datetime
from pathlib import Path

from atomic_files import write_bytes_atomic
from .names import AccountKey, check_name
from .render_state import AccountRender, RenderState, load_render_state, save_render_state
from .safe_paths import inside
from .settings import IMAGE_SUFFIX, RENDER_STATE_FILE_NAME

logger = logging.getLogger(__name__)


class ImageStore:
    """`<images_dir>/<platform>/<username>/<rec_id>.png`, plus `render_state.json` beside them.

    Every path is built from checked names and proven to resolve inside `images_dir`.
    """

    def __init__(self, images_dir: Path) -> None:
        images_dir.mkdir(parents=True, exist_ok=True)
        self.root = images_dir.resolve()
        self._state_path = self.root / RENDER_STATE_FILE_NAME
        self._lock = threading.Lock()
        self._state: RenderState = load_render_state(self._state_path)

    def image_path(self, key: AccountKey, rec_id: str) -> Path:
        check_name("recommendation id", rec_id)
        return inside(self.root, key.platform, key.username, rec_id + IMAGE_SUFFIX)

    def write_image(self, key: AccountKey, rec_id: str, png: bytes) -> None:
        path = self.image_path(key, rec_id)
        path.parent.mkdir(parents=True, exist_ok=True)
        inside(self.root, key.platform, key.username)  # re-checked after mkdir: a symlinked dir is refused
        write_bytes_atomic(path, png)

    def read_image(self, key: AccountKey, rec_id: str) -> bytes | None:
        path = self.image_path(key, rec_id)
        try:
            return path.read_bytes()
        except (FileNotFoundError, IsADirectoryError):
            return None

    def rendered(self, key: AccountKey) -> AccountRender | None:
        with self._lock:
            return self._state.accounts.get(key.label)

    def is_current(self, key: AccountKey, fingerprint: str, renderer: str) -> bool:
        """True when the images of `key` were rendered from this plan by this renderer and are all there."""
        record = self.rendered(key)
        if record is None or record.fingerprint != fingerprint or record.renderer != renderer:
            return False
        return all(self.image_path(key, rec_id).is_file() for rec_id in record.rec_ids)

    def record(self, key: AccountKey, fingerprint: str, renderer: str, rec_ids: list[str], now: datetime) -> AccountRender:
        """Note that all images of `key` are on disk for `fingerprint`; drop images of older recommendations."""
        entry = AccountRender(fingerprint=fingerprint, renderer=renderer, rec_ids=rec_ids, rendered_at=now)
        with self._lock:
            self._state.accounts[key.label] = entry
            save_render_state(self._state_path, self._state)
        self._remove_images(key, keep=set(rec_ids))
        return entry

    def forget(self, key: AccountKey) -> None:
        """The plan of `key` is gone: drop its record and its images."""
        with self._lock:
            if self._state.accounts.pop(key.label, None) is not None:
                save_render_state(self._state_path, self._state)
        self._remove_images(key, keep=set())

    def _remove_images(self, key: AccountKey, *, keep: set[str]) -> None:
        directory = inside(self.root, key.platform, key.username)
        if not directory.is_dir():
            return
        for path in directory.glob("*" + IMAGE_SUFFIX):
            if path.stem not in keep:
                try:
                    path.unlink()
                except OSError as err:
                    logger.debug("Could not remove %s: %s", path, err)
        try:
            directory.rmdir()  # only succeeds when empty
        except OSError:
            pass
