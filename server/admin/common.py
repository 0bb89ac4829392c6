"""What every admin handler does first: check who asks, and read a JSON body strictly."""

from typing import Any, TypeVar

import msgspec
from litestar import Request
from litestar.datastructures import CacheControlHeader, State

from server.access.principal import Forbidden, Principal
from server.access.roles import Permission
from server.errors import ClientError
from server.web.openapi import JSON, takes
from server.web.params import storable

T = TypeVar("T")

# What every admin operation may answer: no credentials (401); not a session, a role
# without the permission, or a change without the CSRF token (403).
REFUSED = (401, 403)
# And one that reads a JSON body: malformed (400), too large (413), not JSON (415).
BODY_REFUSED = (400, 401, 403, 413, 415)

# For answers that hold a secret shown once (a token, an enrollment code): no cache keeps it.
NO_STORE = CacheControlHeader(no_store=True)


def allow(caller: Principal, permission: Permission) -> None:
    """The admin API is for people signed in at a desk. A device token is refused even when
    its account's role would do: a lost tablet must not be able to enroll more tablets."""
    if caller.kind != "session":
        raise Forbidden("session_required", "sign in to the console to do this")
    caller.require(permission)


def json_body(kind: type) -> dict[str, Any]:
    """`opt=` of a handler that reads a `kind` with `read_json`."""
    return takes({JSON: kind})


async def read_json(request: Request[object, object, State], decoder: msgspec.json.Decoder[T]) -> T:
    content_type = request.headers.get("content-type", "").partition(";")[0].strip().lower()
    if content_type != "application/json":
        raise ClientError(415, "unsupported_media_type", "send application/json")
    body = await request.body()
    if not body:
        raise ClientError(400, "empty_body", "the request has no body")
    try:
        decoded = decoder.decode(body)
    # ValidationError is a DecodeError; a string that is not UTF-8 raises UnicodeDecodeError.
    except (msgspec.DecodeError, UnicodeDecodeError) as error:
        raise ClientError(400, "malformed_request", str(error)) from error
    storable("the body", [msgspec.to_builtins(decoded)])
    return decoded
