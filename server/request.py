"""The request class of the application: Litestar's, with one client mistake it misses."""

from typing import Any

from litestar import Request
from litestar.datastructures import State

from server.errors import ClientError


class DoorstepRequest(Request[Any, Any, State]):
    async def json(self) -> Any:
        """The JSON body (of handlers that take `data`). msgspec raises UnicodeDecodeError,
        which Litestar does not catch (a 500), for a string that is not UTF-8."""
        try:
            return await super().json()
        except UnicodeDecodeError as error:
            detail = f"the body is not UTF-8: {error}"
            raise ClientError(400, "malformed_request", detail) from error
