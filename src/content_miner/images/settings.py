"""Module 2's settings and defaults, defined once."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field

from content_miner.common.layout import DataLayout

SOURCE_NAME = "module2"
HOST = "127.0.0.1"  # loopback only: the axon in the same machine is the only client
DEFAULT_PORT = 8094
DEFAULT_POLL_INTERVAL_S = 1.0
DEFAULT_RENDERER = "post_card"

PLAN_FILE_NAME = "content_plan.json"  # Module 1 writes exports/<platform>/<username>/content_plan.json
RENDER_STATE_FILE_NAME = "render_state.json"
IMAGE_SUFFIX = ".png"

# Card sizes (width, height) per platform: each platform's recommended link/post image size.
CARD_SIZES: dict[str, tuple[int, int]] = {
    "twitter": (1200, 675),
    "x": (1200, 675),
    "linkedin": (1200, 627),
    "facebook": (1200, 630),
    "reddit": (1200, 628),
    "youtube": (1280, 720),
    "instagram": (1080, 1080),
    "threads": (1080, 1080),
    "tiktok": (1080, 1920),
}
DEFAULT_CARD_SIZE = (1200, 675)


def card_size(platform: str) -> tuple[int, int]:
    """The card size for `platform`; unknown platforms get the landscape default."""
    return CARD_SIZES.get(platform.lower(), DEFAULT_CARD_SIZE)


class ServiceSettings(BaseModel):
    """What the entry point decides and every part of the service reads."""

    model_config = ConfigDict(frozen=True)

    layout: DataLayout
    host: str = HOST
    port: int = Field(default=DEFAULT_PORT, ge=0, le=65535)
    poll_interval_s: float = Field(default=DEFAULT_POLL_INTERVAL_S, gt=0, le=60)
    renderer: str = DEFAULT_RENDERER
