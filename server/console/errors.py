"""Errors on console pages: a page in the person's language, not a problem document.

Not logged in (or the session ended) sends the browser to the login page; htmx requests
are told to go there with `HX-Redirect`, as a swapped-in login form would be nonsense.
"""

from typing import Any

from litestar import Request, Response
from litestar.datastructures import State
from litestar.exceptions import HTTPException
from litestar.response import Redirect
from litestar.types import ExceptionHandlersMap

from server.console.render import page
from server.errors import ClientError, NotAuthenticated

LOGIN = "/console/login"
# The message key shown for each status; the detail is shown under it.
MESSAGE_OF_STATUS = {403: "forbidden", 404: "not_found", 400: "bad_request"}


def _to_login(request: Request[Any, Any, State], _: NotAuthenticated) -> Response[Any]:
    if request.headers.get("hx-request"):
        return Response(None, status_code=204, headers={"HX-Redirect": LOGIN})
    return Redirect(LOGIN, status_code=303)


def _error_page(request: Request[Any, Any, State], status: int, detail: str) -> Response[Any]:
    message = MESSAGE_OF_STATUS.get(status, "error")
    return page(request, "error.html", status=status, message=message, detail=detail)


def _client_error(request: Request[Any, Any, State], error: ClientError) -> Response[Any]:
    return _error_page(request, error.status, error.detail)


def _http_error(request: Request[Any, Any, State], error: HTTPException) -> Response[Any]:
    return _error_page(request, error.status_code, str(error.detail))


HANDLERS: ExceptionHandlersMap = {
    NotAuthenticated: _to_login,
    ClientError: _client_error,
    HTTPException: _http_error,
}
