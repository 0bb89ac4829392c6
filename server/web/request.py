"""The request class of the application: Litestar's, refusing what it would let through to
a 500 (text no database stores, a JSON string that is not UTF-8)."""

from typing import Any

from litestar import Request
from litestar.datastructures import FormMultiDict, State, UploadFile

from server.errors import ClientError
from server.web.params import storable


class DoorstepRequest(Request[Any, Any, State]):
    async def json(self) -> Any:
        """The JSON body (of handlers that take `data`). msgspec raises UnicodeDecodeError,
        which Litestar does not catch (a 500), for a string that is not UTF-8."""
        try:
            value = await super().json()
        except UnicodeDecodeError as error:
            detail = f"the body is not UTF-8: {error}"
            raise ClientError(400, "malformed_request", detail) from error
        storable("the body", [value])
        return value

    async def form(self) -> FormMultiDict:
        form = await super().form()
        storable("the form", [v for v in form.values() if not isinstance(v, UploadFile)])
        return form


async def storable_address(request: Request[Any, Any, State]) -> None:
    """A `before_request` hook: the path's parameters and the query's."""
    storable("the path", request.path_params.values())
    storable("the query", [*request.query_params.keys(), *request.query_params.values()])
