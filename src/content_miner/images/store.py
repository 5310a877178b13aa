"""The rendered images on disk and the record of what they were rendered from."""

from __future__ import annotations

import logging
import os
import stat
import threading
from datetime import datetime
from pathlib import Path

from content_miner.common.account import AccountKey
from content_miner.common.atomic_files import write_bytes_atomic

from .names import check_name
from .render_state import (
    AccountRender,
    RenderState,
    load_render_state,
    save_render_state,
)
from .safe_paths import OutsideDataDir, inside
from .settings import IMAGE_SUFFIX, RENDER_STATE_FILE_NAME

logger = logging.getLogger(__name__)

# O_NOFOLLOW: an image that is a symlink is not ours (we never make one), wherever it points.
# O_NONBLOCK: opening a FIFO planted under an image name returns at once instead of hanging the loop.
_OPEN_FLAGS = os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0) | getattr(os, "O_NONBLOCK", 0)


class ImageStore:
    """`<images_dir>/<platform>/<username>/<rec_id>.png`, plus `render_state.json` beside them.

    Every path is built from checked names and proven to resolve inside `images_dir`. An image
    counts as present only as a regular file of its own there: a symlink (even to a PNG outside the
    data directory), a directory or a FIFO under an image's name is treated as a missing image, so
    it is rendered again and replaced, never read and never a 500.
    """

    def __init__(self, images_dir: Path) -> None:
        images_dir.mkdir(parents=True, exist_ok=True)
        self.root = images_dir.resolve()
        self._state_path = self.root / RENDER_STATE_FILE_NAME
        self._lock = threading.Lock()
        self._state: RenderState = load_render_state(self._state_path)

    def _account_dir(self, key: AccountKey) -> Path | None:
        try:
            return inside(self.root, key.platform, key.username)
        except OutsideDataDir:
            return None

    def _image_file(self, key: AccountKey, rec_id: str) -> Path | None:
        """The image's path if a regular file (not a symlink) is there, else None."""
        check_name("recommendation id", rec_id)
        directory = self._account_dir(key)
        if directory is None:
            return None
        path = directory / f"{rec_id}{IMAGE_SUFFIX}"
        try:
            mode = path.lstat().st_mode
        except OSError:
            return None
        return path if stat.S_ISREG(mode) else None

    def has_image(self, key: AccountKey, rec_id: str) -> bool:
        return self._image_file(key, rec_id) is not None

    def read_image(self, key: AccountKey, rec_id: str) -> bytes | None:
        """The PNG bytes, or None when the image is not present (see the class docstring)."""
        path = self._image_file(key, rec_id)
        if path is None:
            return None
        try:
            # Opened without following a symlink: one swapped in since the check above is refused too.
            with os.fdopen(os.open(path, _OPEN_FLAGS), "rb") as image:
                if not stat.S_ISREG(os.fstat(image.fileno()).st_mode):
                    return None
                return image.read()
        except OSError:
            return None

    def write_image(self, key: AccountKey, rec_id: str, png: bytes) -> None:
        check_name("recommendation id", rec_id)
        inside(self.root, key.platform, key.username)  # before mkdir: never create folders through a link pointing out
        (self.root / key.platform / key.username).mkdir(parents=True, exist_ok=True)
        directory = inside(self.root, key.platform, key.username)  # re-checked after mkdir: a symlinked dir is refused
        # The rename replaces whatever has the name, a symlink included (rename does not follow it).
        write_bytes_atomic(directory / f"{rec_id}{IMAGE_SUFFIX}", png)

    def rendered(self, key: AccountKey) -> AccountRender | None:
        with self._lock:
            return self._state.accounts.get(key.label)

    def current_images(self, key: AccountKey, fingerprint: str, renderer: str) -> frozenset[str]:
        """The recommendations whose images on disk were rendered from this plan by this renderer."""
        record = self.rendered(key)
        if record is None or record.fingerprint != fingerprint or record.renderer != renderer:
            return frozenset()
        return frozenset(rec_id for rec_id in record.rec_ids if self.has_image(key, rec_id))

    def invalidate(self, key: AccountKey) -> None:
        """Images of `key` are about to be overwritten: until `record`, none of them counts as current.

        Without this, a render of plan B cut short over plan A's images, followed by the file going
        back to A, left a record saying "A, complete" over a mix of A and B cards.
        """
        with self._lock:
            if self._state.accounts.pop(key.label, None) is not None:
                save_render_state(self._state_path, self._state)

    def record(
        self, key: AccountKey, fingerprint: str, renderer: str, rec_ids: list[str], now: datetime
    ) -> AccountRender:
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
        directory = self._account_dir(key)
        if directory is None or not directory.is_dir():
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
