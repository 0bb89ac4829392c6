"""Logging in and out of the console: a form, the same session cookie as the API's."""

from typing import Any

from litestar import Request, Response, get, post
from litestar.datastructures import State
from litestar.response import Redirect, Template

from server.access.api import session_cookie
from server.access.authenticate import SESSION_COOKIE
from server.access.sessions import TooManyAttempts
from server.console.errors import LOGIN
from server.console.render import page
from server.errors import NotAuthenticated
from server.web.dependencies import Caller, ServicesDep

HOME = "/console/visits"
DASHBOARD = "/console/dashboard"
MAX_FIELD = 1024  # argon2 hashes whatever it is given


@get("/console", include_in_schema=False)
async def home() -> Redirect:
    return Redirect(DASHBOARD, status_code=303)


@get("/console/login", include_in_schema=False)
async def login_form(request: Request[Any, Any, State]) -> Template:
    return page(request, "login.html")


def _field(form: Any, name: str) -> str:
    value = form.get(name)
    return value[:MAX_FIELD] if isinstance(value, str) else ""


@post("/console/login", include_in_schema=False, status_code=303)
async def login(
    request: Request[Any, Any, State], services: ServicesDep, state: State
) -> Response[Any]:
    """Right: to the visits, with the cookie. Wrong or throttled: the form again, saying so."""
    form = await request.form()
    username, password = _field(form, "username"), _field(form, "password")
    ip = request.client.host if request.client else None
    try:
        new = await services.access.sessions.login(username, password, ip)
    except TooManyAttempts as error:
        seconds = max(1, round(error.retry_after + 0.5))
        return page(
            request,
            "login.html",
            status=429,
            username=username,
            error=("too_many_attempts", {"seconds": seconds}),
        )
    except NotAuthenticated:
        return page(
            request, "login.html", status=401, username=username, error=("login_failed", {})
        )
    cookie = session_cookie(new.secret, services, state.settings)
    return Redirect(HOME, status_code=303, cookies=[cookie])


@post("/console/logout", include_in_schema=False, status_code=303)
async def logout(
    request: Request[Any, Any, State], services: ServicesDep, caller: Caller
) -> Redirect:
    """The CSRF token comes as the form's `csrf_token` field (checked with the caller)."""
    secret = request.cookies.get(SESSION_COOKIE)
    if caller.kind != "session" or not secret:
        raise NotAuthenticated("session_required", "log in: this is the browser's session")
    await services.access.sessions.logout(secret, caller)
    redirect = Redirect(LOGIN, status_code=303)
    redirect.delete_cookie(SESSION_COOKIE, path="/")
    return redirect
