"""The restart record: which plan each account's images were rendered from.

`<data_dir>/images/render_state.json`, written atomically after an account's images are all on
disk, so a restart re-renders exactly the accounts whose plan (or renderer) changed since, or whose
render was cut short.
"""

from __future__ import annotations

import logging
import time
from datetime import datetime
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, ValidationError

from content_miner.common.atomic_files import write_bytes_atomic

logger = logging.getLogger(__name__)


class AccountRender(BaseModel):
    model_config = ConfigDict(frozen=True)

    fingerprint: str  # sha256 of the plan bytes the images were rendered from
    renderer: str
    rec_ids: list[str]
    rendered_at: datetime


class RenderState(BaseModel):
    version: Literal[1] = 1
    accounts: dict[str, AccountRender] = {}  # key: "<platform>/<username>"


def load_render_state(path: Path) -> RenderState:
    """The saved state, or an empty one. A corrupt file is kept aside for inspection, not lost."""
    try:
        raw = path.read_bytes()
    except FileNotFoundError:
        return RenderState()
    except OSError as err:
        logger.warning("Cannot read render state %s (%s); every plan will be rendered again", path, err.strerror)
        return RenderState()
    try:
        return RenderState.model_validate_json(raw)
    except ValidationError as err:
        aside = path.with_name(f"{path.name}.corrupt-{int(time.time())}")
        try:
            path.replace(aside)
        except OSError:
            aside = path
        logger.warning(
            "Render state %s is not valid (%d errors), kept as %s; every plan will be rendered again",
            path, err.error_count(), aside.name,
        )
        return RenderState()


def save_render_state(path: Path, state: RenderState) -> None:
    write_bytes_atomic(path, state.model_dump_json(indent=1).encode())
