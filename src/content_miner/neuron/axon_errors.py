"""How the axon answers and logs requests it refuses or cannot read.

- bittensor's `log_and_handle_error` (the axon middleware looks it up as a module global on every
  refusal) is replaced by one with the same status mapping that counts the refusal in a RefusalLog
  instead of logging an ERROR line with the exception's text (for a malformed header: every request
  header), and cuts the status message sent back. One fix to the mapping: a header that cannot be
  parsed (SynapseParsingError, which is no SynapseException) is a 400, not a 500.
- bittensor's `create_error_response` (also a module global) is replaced by one that sends the same
  axon and dendrite headers without `Synapse.to_headers()`, which builds the synapse's JSON schema on
  every call (1-5 ms of CPU, most of what a refused request cost).
- the body check that bittensor runs as a route dependency after the signature check
  (`Axon.verify_body_integrity`) is replaced before the routes are attached: a body that is not JSON, no
  JSON object, not the synapse's fields, or not the body whose hash was signed answers 400/415/422 with
  the reason, where bittensor answered 500 "Internal Server Error".
"""

from __future__ import annotations

import json
import time
import traceback
import uuid
from collections.abc import Callable, Coroutine
from typing import Any

import bittensor as bt
import bittensor.core.axon as bt_axon
from bittensor.core.errors import (
    BlacklistedException,
    InvalidRequestNameError,
    NotVerifiedException,
    PriorityException,
    SynapseException,
    SynapseParsingError,
    UnknownSynapseError,
)
from bittensor.core.synapse import Synapse, TerminalInfo
from fastapi.exception_handlers import http_exception_handler
from fastapi.exceptions import RequestValidationError
from pydantic import ValidationError
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from content_miner.neuron.access_gate import claimed_hotkey
from content_miner.neuron.refusal_log import RefusalLog, short_text
from content_miner.neuron.replay_guard import RequestRefused

FASTAPI_PARSE_FAILURE = "There was an error parsing the body"  # fastapi/routing.py, status 400

MESSAGE_CHARS = 300  # of a status message sent back (bittensor puts it in a header and the body)
HOTKEY_HEADER = "bt_header_dendrite_hotkey"


class MalformedRequest(Exception):
    def __init__(self, status: int, kind: str, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.kind = kind
        self.message = message


def _validation_summary(err: ValidationError | RequestValidationError, limit: int = 3) -> str:
    problems = []
    for problem in list(err.errors())[:limit]:
        where = ".".join(str(part) for part in problem.get("loc", ()))
        problems.append(f"{where}: {problem.get('msg', 'invalid')}" if where else str(problem.get("msg", "invalid")))
    more = len(err.errors()) - limit
    return "; ".join(problems) + (f" (and {more} more)" if more > 0 else "")


def _kind_and_detail(exception: Exception, message: str) -> tuple[str, str]:
    if isinstance(exception, NotVerifiedException):
        cause = exception.__context__  # bittensor raises it while handling the verify function's exception
        if isinstance(cause, RequestRefused):
            return cause.kind, str(cause)
        return "not verified", message
    if isinstance(exception, BlacklistedException):
        return "blacklisted", message
    if isinstance(exception, UnknownSynapseError):
        return "unknown synapse", message
    if isinstance(exception, (SynapseParsingError, InvalidRequestNameError)):
        return "malformed headers", message
    if isinstance(exception, PriorityException):
        return "priority timeout", message
    return f"internal error ({type(exception).__name__})", f"{message}: {exception}"


def _parse_failure(exception: Exception) -> str:
    cause = exception.__cause__
    if isinstance(cause, ValidationError):
        return f"Improperly formatted request headers: {_validation_summary(cause)}"
    return f"Improperly formatted request headers: {type(cause or exception).__name__}"


def counting_error_handler(refusals: RefusalLog) -> Callable[..., Synapse]:
    """A drop-in for bittensor.core.axon.log_and_handle_error (same signature, same status codes)."""

    def log_and_handle_error(synapse: Synapse, exception: Exception, status_code: int | None = None,
                             start_time: float | None = None) -> Synapse:
        if isinstance(exception, SynapseException):
            synapse = exception.synapse or synapse
        if synapse.axon is None:
            synapse.axon = TerminalInfo()
        error_id = str(uuid.uuid4())
        if not status_code and synapse.axon.status_code != 100:
            status_code = synapse.axon.status_code
        status_message = synapse.axon.status_message
        if isinstance(exception, SynapseException):
            if not status_code:
                if isinstance(exception, PriorityException):
                    status_code = 503
                elif isinstance(exception, UnknownSynapseError):
                    status_code = 404
                elif isinstance(exception, BlacklistedException):
                    status_code = 403
                elif isinstance(exception, NotVerifiedException):
                    status_code = 401
                else:
                    status_code = 500
            status_message = status_message or str(exception)
        elif isinstance(exception, (SynapseParsingError, InvalidRequestNameError)):
            status_code = status_code or 400
            status_message = _parse_failure(exception) if isinstance(exception, SynapseParsingError) else (
                status_message or str(exception))
        else:
            status_code = status_code or 500
            status_message = status_message or f"Internal Server Error #{error_id}"
            bt.logging.trace(short_text(traceback.format_exc(), 4000))
        status_message = short_text(status_message, MESSAGE_CHARS)
        synapse.axon.status_code = status_code
        synapse.axon.status_message = status_message
        if start_time:
            synapse.axon.process_time = time.time() - start_time
        kind, detail = _kind_and_detail(exception, status_message)
        hotkey = synapse.dendrite.hotkey if synapse.dendrite is not None else None
        refusals.record(hotkey or claimed_hotkey.get(), int(status_code), kind, detail)
        return synapse

    return log_and_handle_error


def error_response(synapse: Synapse) -> JSONResponse:
    """The answer to a refused request (a drop-in for bittensor.core.axon.create_error_response): the
    status and message, and the terminal headers `to_headers()` would send (not the body's fields)."""
    if synapse.axon is None:
        return JSONResponse(status_code=400, content={"message": "Invalid request name"})
    headers = {"name": short_text(synapse.name or "", 64), "timeout": str(synapse.timeout)}
    for prefix, terminal in (("axon", synapse.axon), ("dendrite", synapse.dendrite)):
        if terminal is not None:
            headers.update({f"bt_header_{prefix}_{key}": short_text(value, MESSAGE_CHARS)
                            for key, value in terminal.model_dump().items() if value is not None})
    return JSONResponse(status_code=synapse.axon.status_code or 400, headers=headers,
                        content={"message": synapse.axon.status_message})


def body_check(synapse_classes: dict[str, Any]) -> Callable[[Request], Coroutine[Any, Any, dict]]:
    """The route dependency that reads and checks the body (bittensor's `verify_body_integrity`)."""

    async def verify_body_integrity(request: Request) -> dict:
        content_type = request.headers.get("content-type", "").split(";")[0].strip().lower()
        if content_type != "application/json":
            raise MalformedRequest(415, "not JSON", f"content-type must be application/json, got {content_type!r}")
        name = request.url.path.split("/")[1]
        try:
            body = json.loads(await request.body())
        except (ValueError, RecursionError) as err:  # not UTF-8 or not JSON; nested past Python's limit
            raise MalformedRequest(422, "malformed body", f"the body is not valid JSON: {err}") from None
        if not isinstance(body, dict):
            raise MalformedRequest(422, "malformed body", f"the body must be a JSON object, got {type(body).__name__}")
        try:
            parsed = synapse_classes[name](**body)
        except ValidationError as err:
            raise MalformedRequest(422, "malformed body",
                                   f"the body is not a valid {name}: {_validation_summary(err)}") from None
        except (TypeError, ValueError) as err:
            raise MalformedRequest(422, "malformed body", f"the body is not a valid {name}: {err}") from None
        if parsed.body_hash != request.headers.get("computed_body_hash", ""):
            raise MalformedRequest(400, "body hash mismatch",
                                   "the body is not the one whose hash was signed (computed_body_hash)")
        return body

    return verify_body_integrity


def install(axon: bt.Axon, refusals: RefusalLog) -> None:
    """Before `axon.attach(...)`: bittensor's error logging is replaced (for the whole process: it is a
    module global) and the body check of the routes attached from now on."""
    bt_axon.log_and_handle_error = counting_error_handler(refusals)
    bt_axon.create_error_response = error_response
    # bittensor passes `Depends(self.verify_body_integrity)` to each route it attaches: an instance
    # attribute is looked up first.
    axon.verify_body_integrity = body_check(axon.forward_class_types)  # type: ignore[method-assign,assignment]

    async def malformed(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, MalformedRequest)
        refusals.record(request.headers.get(HOTKEY_HEADER), exc.status, exc.kind, exc.message)
        return JSONResponse(status_code=exc.status, content={"message": short_text(exc.message, MESSAGE_CHARS)})

    async def invalid(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, RequestValidationError)
        not_json = [problem for problem in exc.errors() if problem.get("type") == "json_invalid"]
        if not_json:  # FastAPI parses the JSON before the body check runs
            reason = (not_json[0].get("ctx") or {}).get("error", "")
            message = short_text(f"the body is not valid JSON: {reason}", MESSAGE_CHARS)
        else:
            message = short_text(f"the body is not valid: {_validation_summary(exc)}", MESSAGE_CHARS)
        refusals.record(request.headers.get(HOTKEY_HEADER), 422, "malformed body", message)
        return JSONResponse(status_code=422, content={"message": message})

    async def unparsable(request: Request, exc: Exception) -> Response:
        """FastAPI's own parse of the body, before the body check, fails on bytes that are not UTF-8
        or JSON nested past Python's limit: a 400 without a reason. Answered as the body check would."""
        assert isinstance(exc, StarletteHTTPException)
        if exc.status_code != 400 or exc.detail != FASTAPI_PARSE_FAILURE:
            return await http_exception_handler(request, exc)
        message = "the body is not valid JSON (not UTF-8, or nested too deep)"
        refusals.record(request.headers.get(HOTKEY_HEADER), 422, "malformed body", message)
        return JSONResponse(status_code=422, content={"message": message})

    axon.app.add_exception_handler(MalformedRequest, malformed)
    axon.app.add_exception_handler(RequestValidationError, invalid)
    axon.app.add_exception_handler(StarletteHTTPException, unparsable)
