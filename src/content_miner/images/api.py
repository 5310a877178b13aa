"""The query API: health, accounts, plans, images and stage status, on loopback HTTP.

Names from the URL are checked against strict patterns before any path is built (400 if they do
not match); well-formed names that the service does not know give 404. Both carry a one-line
JSON `detail`.

An image is served only if it was rendered from the plan the service holds now. Until then the
answer is 503 with `Retry-After` (the card is being rendered: ask again), which the axon reports
as "pending"; an image whose render failed is 404 with the reason (asking again will not help
until the plan changes). A stale card from an older plan is never answered with 200.

Each resource has one URL: no trailing-slash redirects (Starlette builds their `Location` from
the client's `Host` header), so `/plans/twitter/elonmusk/` is a 404 like any unknown route.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse, Response
from starlette.exceptions import HTTPException as StarletteHTTPException

from content_miner.common.account import AccountKey, InvalidAccount

from .api_models import AccountList, AccountSummary, Health, ImageRef
from .catalog import AccountEntry, ImageStatus
from .names import InvalidName, check_name
from .service import ImageService
from .settings import IMAGE_SUFFIX, SOURCE_NAME
from .stage_status import TrackerUnavailable

logger = logging.getLogger(__name__)


class ApiError(Exception):
    def __init__(self, status_code: int, detail: str, headers: dict[str, str] | None = None) -> None:
        super().__init__(detail)
        self.status_code = status_code
        self.detail = detail
        self.headers = headers


def create_app(service: ImageService) -> FastAPI:
    app = FastAPI(
        title="Module 2: image generator and query handler",
        docs_url=None,
        redoc_url=None,
        openapi_url=None,
        redirect_slashes=False,
    )

    @app.exception_handler(ApiError)
    async def _api_error(_: Request, err: ApiError) -> JSONResponse:
        return JSONResponse({"detail": err.detail}, status_code=err.status_code, headers=err.headers)

    @app.exception_handler(StarletteHTTPException)
    async def _no_route(_: Request, err: StarletteHTTPException) -> JSONResponse:
        detail = _NO_ROUTE if err.status_code == 404 else str(err.detail)
        return JSONResponse({"detail": detail}, status_code=err.status_code, headers=err.headers)

    @app.middleware("http")
    async def _unexpected(request: Request, call_next: Callable[[Request], Awaitable[Response]]) -> Response:
        # Caught here rather than by an `Exception` handler: Starlette re-raises after such a handler
        # runs, and uvicorn then logs a full traceback at ERROR for every failing request.
        try:
            return await call_next(request)
        except Exception as err:
            logger.error("Request %s %s failed: %s: %s", request.method, request.url.path, type(err).__name__, err)
            logger.debug("Request failure", exc_info=err)
            return JSONResponse({"detail": "internal error; see the module2 log"}, status_code=500)

    @app.get("/health", response_model=Health)
    async def health() -> Health:
        entries = service.catalog.entries()
        return Health(
            status="ok",
            source=SOURCE_NAME,
            uptime_s=round(service.uptime_s, 3),
            renderer=service.renderer.name,
            accounts=len(entries),
            accounts_ready=sum(entry.status is ImageStatus.READY for entry in entries),
            images_rendered=service.catalog.images_rendered,
            scans=service.watcher.scans,
            scan_errors=service.watcher.scan_errors,
        )

    @app.get("/accounts", response_model=AccountList)
    async def accounts() -> AccountList:
        return AccountList(accounts=[_summary(entry) for entry in service.catalog.entries()])

    @app.get("/accounts/{platform}/{username}", response_model=AccountSummary)
    async def account(platform: str, username: str) -> AccountSummary:
        entry = _entry(service, platform, username)
        summary = _summary(entry)
        if entry.plan is not None:
            summary.images = [
                ImageRef(
                    id=rec.id,
                    rank=rec.rank,
                    url=_image_url(entry.key, rec.id),
                    ready=rec.id in entry.rendered and service.store.has_image(entry.key, rec.id),
                )
                for rec in entry.plan.plan.recommendations
            ]
        return summary

    @app.get("/plans/{platform}/{username}")
    async def plan(platform: str, username: str) -> Response:
        entry = _entry(service, platform, username)
        if entry.plan is None:
            raise ApiError(404, f"no valid content plan for {entry.key.label}: {entry.error}")
        # The exact bytes Module 1 wrote (already validated): no re-serialisation on the hot path.
        return Response(
            entry.plan.raw, media_type="application/json", headers={"X-Plan-SHA256": entry.plan.fingerprint}
        )

    @app.get("/images/{platform}/{username}/{image_name}")
    async def image(platform: str, username: str, image_name: str) -> Response:
        entry = _entry(service, platform, username)
        rec_id = _checked("recommendation id", image_name.removesuffix(IMAGE_SUFFIX))
        return Response(_current_png(service, entry, rec_id), media_type="image/png")

    @app.get("/status")
    def status(source: str | None = None) -> dict[str, object]:  # sync: file I/O runs in the thread pool
        try:
            return service.stage_status.read(source)
        except TrackerUnavailable as err:
            raise ApiError(503, str(err)) from None

    return app


_NO_ROUTE = (
    "no such route; routes are /health, /accounts, /accounts/{platform}/{username}, /plans/{platform}/{username}, "
    "/images/{platform}/{username}/{rec_id}.png and /status, without a trailing slash"
)


def _checked(kind: str, value: str) -> str:
    try:
        return check_name(kind, value)
    except InvalidName as err:
        raise ApiError(400, str(err)) from None


def _account(platform: str, username: str) -> AccountKey:
    try:
        return AccountKey.parse(platform, username)
    except InvalidAccount as err:
        raise ApiError(400, str(err)) from None


def _entry(service: ImageService, platform: str, username: str) -> AccountEntry:
    key = _account(platform, username)
    entry = service.catalog.get(key)
    if entry is None:
        raise ApiError(404, f"no content plan for {key.label}")
    return entry


def _current_png(service: ImageService, entry: AccountEntry, rec_id: str) -> bytes:
    """The card of `rec_id` rendered from the plan `entry` holds, or an `ApiError` saying why not."""
    loaded, label = entry.plan, entry.key.label
    if loaded is None or all(rec.id != rec_id for rec in loaded.plan.recommendations):
        raise ApiError(404, f"no recommendation {rec_id!r} in the content plan for {label}")
    if rec_id in entry.rendered:
        png = service.store.read_image(entry.key, rec_id)
        latest = service.catalog.get(entry.key)
        # Checked again after reading: a newer plan's render writes files only after replacing the entry.
        if latest is None or latest.plan is None or latest.plan.fingerprint != loaded.fingerprint:
            raise ApiError(
                503,
                f"the content plan for {label} changed while image {rec_id} was read; ask again",
                {"Retry-After": "1"},
            )
        if png is not None:
            return png
        if entry.status is ImageStatus.READY:
            service.watcher.request_check(entry.key)  # deleted, or replaced by a symlink: render it again
            raise ApiError(
                503, f"image {rec_id} for {label} is missing on disk; rendering it again", {"Retry-After": "1"}
            )
    if entry.status is ImageStatus.FAILED:
        raise ApiError(
            404,
            f"image {rec_id} for {label} could not be rendered from the current plan ({entry.error}); "
            "tried again when the plan changes",
        )
    total = len(loaded.plan.recommendations)
    raise ApiError(
        503,
        f"image {rec_id} for {label} is still rendering for the current plan "
        f"({entry.status.value}, {entry.images_ready} of {total} ready)",
        {"Retry-After": "1"},
    )


def _image_url(key: AccountKey, rec_id: str) -> str:
    return f"/images/{key.platform}/{key.username}/{rec_id}{IMAGE_SUFFIX}"


def _summary(entry: AccountEntry) -> AccountSummary:
    plan = entry.plan.plan if entry.plan else None
    return AccountSummary(
        platform=entry.key.platform,
        username=entry.key.username,
        status=entry.status.value,
        recommendations=len(plan.recommendations) if plan else 0,
        images_ready=entry.images_ready,
        plan_sha256=entry.plan.fingerprint if entry.plan else None,
        generated_at=plan.generated_at if plan else None,
        rendered_at=entry.rendered_at,
        renders=entry.renders,
        error=entry.error,
        plan_url=f"/plans/{entry.key.platform}/{entry.key.username}" if plan else None,
    )
