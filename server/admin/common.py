"""What every admin handler does first: check who asks, and read a JSON body strictly."""

from typing import TypeVar

import msgspec
from litestar import Request
from litestar.datastructures import CacheControlHeader, State

from server.access.principal import Forbidden, Principal
from server.access.roles import Permission
from server.errors import ClientError

T = TypeVar("T")

# For answers that hold a secret shown once (a token, an enrollment code): no cache keeps it.
NO_STORE = CacheControlHeader(no_store=True)


def allow(caller: Principal, permission: Permission) -> None:
    """The admin API is for people signed in at a desk. A device token is refused even when
    its account's role would do: a lost tablet must not be able to enroll more tablets."""
    if caller.kind != "session":
        raise Forbidden("session_required", "sign in to the console to do this")
    caller.require(permission)


async def read_json(request: Request[object, object, State], decoder: msgspec.json.Decoder[T]) -> T:
    content_type = request.headers.get("content-type", "").partition(";")[0].strip().lower()
    if content_type != "application/json":
        raise ClientError(415, "unsupported_media_type", "send application/json")
    body = await request.body()
    if not body:
        raise ClientError(400, "empty_body", "the request has no body")
    try:
        return decoder.decode(body)
    except msgspec.DecodeError as error:  # ValidationError is a DecodeError
        raise ClientError(400, "malformed_request", str(error)) from error
