"""The JSON bodies of the query API."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel


class Health(BaseModel):
    status: str  # "ok"
    source: str
    uptime_s: float
    renderer: str
    accounts: int
    accounts_ready: int
    images_rendered: int  # by this process: 0 after a restart that found everything up to date
    scans: int  # plan-directory scans so far; > 0 once the first scan is done
    scan_errors: int


class ImageRef(BaseModel):
    id: str
    rank: int
    url: str
    ready: bool


class AccountSummary(BaseModel):
    platform: str
    username: str
    status: str  # pending, rendering, ready, failed, invalid_plan
    recommendations: int
    images_ready: int
    plan_sha256: str | None
    generated_at: datetime | None
    rendered_at: datetime | None
    renders: int  # renders of this account by this process
    error: str | None
    plan_url: str | None
    images: list[ImageRef] | None = None  # in the one-account view only


class AccountList(BaseModel):
    accounts: list[AccountSummary]


class ErrorBody(BaseModel):
    detail: str
