"""Every error becomes an RFC 9457 problem document with a machine-readable `reason`."""

import logging
import math
from http import HTTPStatus
from typing import Any

import msgspec
from litestar import Request, Response
from litestar.exceptions import HTTPException, ValidationException
from litestar.types import ExceptionHandlersMap

from server.access.sessions import TooManyAttempts
from server.errors import ClientError
from sync import Reason, Refused
from sync.errors import StoreUnavailable

log = logging.getLogger(__name__)

STATUS_OF_REASON = {
    Reason.EMPTY_UPDATE: 400,
    Reason.MALFORMED_UPDATE: 400,
    Reason.MALFORMED_DOCUMENT_ID: 400,
    Reason.MALFORMED_STATE_VECTOR: 400,
    Reason.MALFORMED_CURSOR: 400,
    Reason.UNKNOWN_ROOT: 400,
    Reason.UNSUPPORTED_CONTENT: 400,
    Reason.APPEND_ONLY: 403,
    Reason.OUT_OF_SCOPE: 403,
    Reason.SERVER_OWNED_ROOT: 403,
    Reason.UNKNOWN_DOCUMENT: 404,
    Reason.MISSING_DEPENDENCIES: 409,
    Reason.UNREADABLE_DOCUMENT: 409,
    Reason.UPDATE_TOO_LARGE: 413,
    Reason.TOO_DEEP: 413,
    Reason.VALUE_TOO_LARGE: 413,
    Reason.MISSING_META: 422,
}


class Problem(msgspec.Struct):
    type: str
    title: str
    status: int
    reason: str
    detail: str


def problem(
    status: int, reason: str, detail: str, headers: dict[str, str] | None = None
) -> Response[bytes]:
    body = Problem(
        f"urn:doorstep:problem:{reason}", HTTPStatus(status).phrase, status, reason, detail
    )
    if status == 401:
        headers = {"WWW-Authenticate": "Bearer", **(headers or {})}
    return Response(
        msgspec.json.encode(body),
        status_code=status,
        media_type="application/problem+json",
        headers=headers,
    )


def _refused(_: Request[Any, Any, Any], error: Refused) -> Response[bytes]:
    return problem(STATUS_OF_REASON[error.reason], error.reason, error.detail)


def _client_error(_: Request[Any, Any, Any], error: ClientError) -> Response[bytes]:
    return problem(error.status, error.reason, error.detail)


def _too_many_attempts(_: Request[Any, Any, Any], error: TooManyAttempts) -> Response[bytes]:
    # Whole seconds, rounded up: a client that waits exactly that long gets through.
    wait = str(max(1, math.ceil(error.retry_after)))
    return problem(error.status, error.reason, error.detail, {"Retry-After": wait})


def _store_unavailable(_: Request[Any, Any, Any], error: Exception) -> Response[bytes]:
    log.exception("update store failed", exc_info=error)
    return problem(503, "store_unavailable", "the database is unavailable: retry later")


def _http_error(_: Request[Any, Any, Any], error: HTTPException) -> Response[bytes]:
    status = error.status_code
    if isinstance(error, ValidationException):
        return problem(400, *_invalid(error))
    reason = {413: "body_too_large", 404: "not_found", 405: "method_not_allowed"}.get(
        status, "bad_request" if status < 500 else "server_error"
    )
    # A 405's `Allow` lists the methods the path takes.
    return problem(status, reason, str(error.detail), error.headers)


def _invalid(error: ValidationException) -> tuple[str, str]:
    """A parameter Litestar refused (`invalid_parameter`: a number out of its range, a
    value not of its type, a required one missing) or a body it could not decode
    (`malformed_request`, as when a handler decodes its body itself)."""
    found = error.extra if isinstance(error.extra, list) else []
    sources = {item.get("source") for item in found if isinstance(item, dict)}
    reason = "malformed_request" if "body" in sources else "invalid_parameter"
    said = [
        f"`{item['key']}`: {item.get('message', 'invalid')}" if "key" in item else str(item)
        for item in found
        if isinstance(item, dict)
    ]
    return reason, "; ".join(said) or str(error.detail)


def _unexpected(_: Request[Any, Any, Any], error: Exception) -> Response[bytes]:
    log.exception("unexpected error", exc_info=error)
    return problem(500, "server_error", "the server failed: retry later")


EXCEPTION_HANDLERS: ExceptionHandlersMap = {
    Refused: _refused,
    TooManyAttempts: _too_many_attempts,
    ClientError: _client_error,
    StoreUnavailable: _store_unavailable,
    HTTPException: _http_error,
    Exception: _unexpected,
}
