"""Stage 1's operator settings, read once from the environment by the entry point."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import timedelta

from content_miner.pipeline.scraping.base import ScrapeError

BEARER_TOKEN_ENV = "X_BEARER_TOKEN"
BASE_URL_ENV = "X_API_BASE_URL"
TIMEOUT_ENV = "X_API_TIMEOUT_S"
MAX_RATE_LIMIT_WAIT_ENV = "X_API_MAX_RATE_LIMIT_WAIT_S"
CACHE_MAX_AGE_ENV = "RAW_CACHE_MAX_AGE_HOURS"

DEFAULT_X_API_BASE_URL = "https://api.x.com/2"


@dataclass(frozen=True)
class ScrapeSettings:
    x_bearer_token: str | None = field(default=None, repr=False)  # never in logs or reprs
    x_api_base_url: str = DEFAULT_X_API_BASE_URL
    timeout_s: float = 20.0  # per HTTP request
    max_rate_limit_wait_s: float = 60.0  # wait out a 429 only when the reset is this close
    cache_max_age: timedelta = timedelta(hours=24)

    @classmethod
    def from_env(cls, environ: Mapping[str, str]) -> ScrapeSettings:
        """Settings from the environment an entry point read; ScrapeError names a bad variable."""
        env = environ
        defaults = cls()
        return cls(
            x_bearer_token=(env.get(BEARER_TOKEN_ENV) or "").strip() or None,
            x_api_base_url=(env.get(BASE_URL_ENV) or "").strip() or defaults.x_api_base_url,
            timeout_s=_positive(env, TIMEOUT_ENV, defaults.timeout_s),
            max_rate_limit_wait_s=_positive(
                env, MAX_RATE_LIMIT_WAIT_ENV, defaults.max_rate_limit_wait_s, allow_zero=True
            ),
            cache_max_age=timedelta(
                hours=_positive(
                    env, CACHE_MAX_AGE_ENV, defaults.cache_max_age.total_seconds() / 3600,
                    allow_zero=True,
                )
            ),
        )


def _positive(
    env: Mapping[str, str], name: str, default: float, *, allow_zero: bool = False
) -> float:
    raw = (env.get(name) or "").strip()
    if not raw:
        return default
    try:
        value = float(raw)
    except ValueError:
        value = float("nan")
    if not (value > 0 or (allow_zero and value == 0)) or value == float("inf"):
        kind = "a number >= 0" if allow_zero else "a number > 0"
        raise ScrapeError(f"{name} must be {kind}, got {raw[:40]!r}")
    return value
