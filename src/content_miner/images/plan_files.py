"""Finding and reading the content plans Module 1 exports."""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass
from pathlib import Path

from pydantic import ValidationError

from content_miner.common.account import AccountKey, InvalidAccount
from content_miner.pipeline.plan import SCHEMA_VERSION, ContentPlan, plan_fingerprint

from .names import InvalidName, check_name
from .safe_paths import OutsideDataDir, inside
from .settings import PLAN_FILE_NAME

logger = logging.getLogger(__name__)

_KNOWN_MAJOR = SCHEMA_VERSION.split(".")[0]


class PlanFileError(ValueError):
    """A plan file that cannot be used as it is; the message is one line for the operator."""


@dataclass(frozen=True)
class LoadedPlan:
    """A validated plan together with the exact bytes it came from."""

    key: AccountKey
    raw: bytes
    fingerprint: str  # sha256 of `raw`
    plan: ContentPlan


def plan_path(exports_dir: Path, key: AccountKey) -> Path:
    return exports_dir / key.platform / key.username / PLAN_FILE_NAME


def find_plan_files(exports_dir: Path) -> dict[AccountKey, Path]:
    """Every `<platform>/<username>/content_plan.json` under `exports_dir` with valid names.

    Directories with names outside the strict patterns, or that resolve outside `exports_dir`
    (a symlink pointing elsewhere), are left out; `rejected` logging is the caller's business.
    A `content_plan.json` that exists but is not a regular file (a directory, a FIFO) is listed:
    the caller reports it as unreadable instead of the account silently never appearing.
    """
    found: dict[AccountKey, Path] = {}
    if not exports_dir.is_dir():
        return found
    for platform_dir in sorted(exports_dir.iterdir()):
        if not platform_dir.is_dir():
            continue
        for account_dir in sorted(platform_dir.iterdir()):
            candidate = account_dir / PLAN_FILE_NAME
            try:
                key = AccountKey(platform_dir.name, account_dir.name)
                resolved = inside(exports_dir, key.platform, key.username, PLAN_FILE_NAME)
            except (InvalidAccount, OutsideDataDir) as err:
                if candidate.exists():
                    logger.debug("Ignoring %s: %s", candidate, err)
                continue
            if resolved.exists():
                found[key] = resolved
    return found


def parse_plan(key: AccountKey, raw: bytes) -> LoadedPlan:
    """Validate `raw` as the content plan of `key`, or raise `PlanFileError` with one line.

    Whatever the bytes make the parsers raise is a `PlanFileError`: a plan nested 200,000 levels
    deep made `json` raise `RecursionError`, which escaped as a failed scan instead of a skipped plan.
    """
    try:
        return _validated(key, raw)
    except PlanFileError:
        raise
    except Exception as err:  # noqa: BLE001  (any parser failure is a corrupt plan, see the docstring)
        lines = str(err).strip().splitlines()
        raise PlanFileError(f"cannot be parsed: {type(err).__name__}: {lines[0] if lines else 'no detail'}") from None


def _validated(key: AccountKey, raw: bytes) -> LoadedPlan:
    try:
        plan = ContentPlan.model_validate_json(raw)
    except ValidationError as err:
        first = err.errors()[0]
        where = ".".join(str(part) for part in first.get("loc", ())) or "document"
        major = _declared_major(raw)
        if major is not None and major != _KNOWN_MAJOR:
            raise PlanFileError(f"unsupported schema_version {major}.x (this reader knows {SCHEMA_VERSION})") from None
        raise PlanFileError(
            f"not a valid content plan ({err.error_count()} errors; first at {where}: {first['msg']})"
        ) from None
    if (plan.platform, plan.username) != (key.platform, key.username):
        raise PlanFileError(f"plan is for {plan.platform}/{plan.username} but lives under {key.label}")
    if len({rec.id for rec in plan.recommendations}) != len(plan.recommendations):
        raise PlanFileError("recommendation ids are not unique")
    for rec in plan.recommendations:
        try:
            check_name("recommendation id", rec.id)
        except InvalidName as err:
            raise PlanFileError(str(err)) from None
    return LoadedPlan(key=key, raw=raw, fingerprint=plan_fingerprint(raw), plan=plan)


def _declared_major(raw: bytes) -> str | None:
    """The major part of `schema_version` if the document declares one we can see cheaply."""
    try:
        document = json.loads(raw)
    except (ValueError, RecursionError):  # RecursionError: deep nesting, which pydantic's parser refuses first
        return None
    version = document.get("schema_version") if isinstance(document, dict) else None
    return str(version).split(".")[0] if version is not None else None
