"""Browser sessions and device self-service (login, logout, enroll, rotate).

Logging in and enrolling need no authentication: the password and the one-time code are
the credentials. Everything else names `caller` (`Access.authenticate`), which also checks
a session's CSRF token on unsafe methods.
"""

from datetime import datetime
from typing import Annotated, Any, TypeVar

import msgspec
import sqlalchemy as sa
from litestar import Request, Response, delete, get, post
from litestar.datastructures import Cookie, State
from litestar.handlers import HTTPRouteHandler
from msgspec import Meta

from server.access.authenticate import APP_VERSION_HEADER, SESSION_COOKIE
from server.access.principal import Forbidden, Principal
from server.access.roles import Role
from server.access.secrets import PROPOSED_DEVICE_TOKEN, csrf_token
from server.db.access_tables import accounts
from server.errors import ClientError, NotAuthenticated
from server.settings import Settings
from server.web.dependencies import Caller, Services, ServicesDep
from server.web.openapi import FORM, JSON, MULTIPART, problems, takes
from server.web.params import storable

FORMS = ("application/x-www-form-urlencoded", "multipart/form-data")
# Answers that carry a secret must be kept by no browser or proxy cache.
NO_STORE = {"Cache-Control": "no-store"}

Name = Annotated[str, Meta(min_length=1, max_length=64)]
Body = TypeVar("Body", bound=msgspec.Struct)


class Login(msgspec.Struct, forbid_unknown_fields=True):
    username: Name
    # Bounded: argon2 hashes whatever it is given.
    password: Annotated[str, Meta(min_length=1, max_length=1024)]


class Enroll(msgspec.Struct, forbid_unknown_fields=True):
    code: Name
    app_version: Annotated[str, Meta(max_length=64)] | None = None


class CsrfField(msgspec.Struct):
    """An HTML form's logout: the CSRF token as a field (or in X-CSRF-Token)."""

    csrf_token: str | None = None


class AccountView(msgspec.Struct):
    id: str
    username: str
    display_name: str
    role: str
    role_label: str


class SessionView(msgspec.Struct, omit_defaults=True):
    account: AccountView
    permissions: list[str]
    grids: list[str]
    # Send it back in X-CSRF-Token (or a `csrf_token` form field) on every change.
    csrf_token: str
    expires_at: datetime | None = None


class EnrolledDevice(msgspec.Struct):
    device_id: str
    token: str
    username: str
    display_name: str
    grids: list[str]


class DeviceToken(msgspec.Struct):
    device_id: str
    token: str


async def _body(request: Request[object, object, State], kind: type[Body]) -> Body:
    """A JSON body, or an HTML form's fields of the same names (other fields ignored)."""
    content_type = request.headers.get("content-type", "").partition(";")[0].strip().lower()
    try:
        if content_type == "application/json":
            decoded = msgspec.json.decode(await request.body(), type=kind)
            storable("the body", [msgspec.to_builtins(decoded)])
            return decoded
        if content_type in FORMS:
            form = await request.form()
            fields = {name: form.get(name) for name in kind.__struct_fields__ if name in form}
            return msgspec.convert(fields, kind)
    # ValidationError is a DecodeError; a string that is not UTF-8 raises UnicodeDecodeError.
    except (msgspec.DecodeError, UnicodeDecodeError) as error:
        raise ClientError(400, "malformed_request", str(error)) from error
    raise ClientError(415, "unsupported_media_type", "send application/json or a form")


def _ip(request: Request[object, object, State]) -> str | None:
    return request.client.host if request.client else None


def _session_secret(request: Request[object, object, State], caller: Principal) -> str:
    if caller.kind != "session":
        raise NotAuthenticated("session_required", "log in: this is the browser's session")
    return request.cookies[SESSION_COOKIE]


async def _account(services: ServicesDep, principal: Principal) -> AccountView:
    async with services.database.connect() as connection:
        display_name = await connection.scalar(
            sa.select(accounts.c.display_name).where(accounts.c.id == principal.account_id)
        )
    role = principal.role or Role.GRID_MEMBER  # sessions and devices always have one
    return AccountView(
        str(principal.account_id), str(principal.username), str(display_name), role, role.label
    )


async def _session_view(
    services: ServicesDep, principal: Principal, secret: str, expires_at: datetime | None
) -> SessionView:
    return SessionView(
        await _account(services, principal),
        sorted(principal.permissions),
        sorted(principal.grids),
        csrf_token(secret),
        expires_at,
    )


def session_cookie(secret: str, services: Services, settings: Settings) -> Cookie:
    """The browser's session cookie (also set by the console's login form)."""
    return Cookie(
        key=SESSION_COOKIE,
        value=secret,
        path="/",
        httponly=True,
        samesite="lax",
        secure=settings.secure_cookies,
        max_age=int(services.access.sessions.policy.session_lifetime.total_seconds()),
    )


def _json_or_form(kind: type[msgspec.Struct], *, required: bool = True) -> dict[str, Any]:
    return takes({JSON: kind, FORM: kind, MULTIPART: kind}, required=required)


@post(
    "/api/session",
    status_code=200,
    summary="Log in",
    responses=problems(400, 401, 413, 415, 429),
    opt=_json_or_form(Login),
)
async def login(
    request: Request[object, object, State], services: ServicesDep, state: State
) -> Response[SessionView]:
    """Log in with a password (JSON or a form): the session cookie and its CSRF token."""
    body = await _body(request, Login)
    sessions, ip = services.access.sessions, _ip(request)
    new = await sessions.login(body.username, body.password, ip)
    principal = await sessions.authenticate(new.secret, ip)
    cookie = session_cookie(new.secret, services, state.settings)
    view = await _session_view(services, principal, new.secret, new.expires_at)
    return Response(view, headers=NO_STORE, cookies=[cookie])


@get("/api/session", summary="Who is logged in", responses=problems(401))
async def whoami(
    request: Request[object, object, State], services: ServicesDep, caller: Caller
) -> Response[SessionView]:
    """Who is logged in, what they may do and where, and the CSRF token (after a reload)."""
    view = await _session_view(services, caller, _session_secret(request, caller), None)
    return Response(view, headers=NO_STORE)


async def _logout(
    request: Request[object, object, State], services: ServicesDep, caller: Principal
) -> Response[None]:
    await services.access.sessions.logout(_session_secret(request, caller), caller)
    response: Response[None] = Response(None, status_code=204)
    response.delete_cookie(SESSION_COOKIE, path="/")
    return response


@delete("/api/session", status_code=204, summary="Log out", responses=problems(401, 403))
async def logout(
    request: Request[object, object, State], services: ServicesDep, caller: Caller
) -> Response[None]:
    """End the session: its cookie stops working at once."""
    return await _logout(request, services, caller)


@post(
    "/api/session/logout",
    status_code=204,
    summary="Log out from an HTML form",
    responses=problems(400, 401, 403, 413),
    opt=takes({FORM: CsrfField, MULTIPART: CsrfField}, required=False),
)
async def logout_form(
    request: Request[object, object, State], services: ServicesDep, caller: Caller
) -> Response[None]:
    """The same for an HTML form, which cannot send DELETE (CSRF token as a form field)."""
    return await _logout(request, services, caller)


@post(
    "/api/enroll",
    status_code=201,
    summary="Redeem a one-time enrollment code",
    responses=problems(400, 413, 415),
    opt=_json_or_form(Enroll),
)
async def enroll(
    request: Request[object, object, State], services: ServicesDep
) -> Response[EnrolledDevice]:
    """Redeem a one-time enrollment code for this tablet's device token."""
    body = await _body(request, Enroll)
    ip, devices = _ip(request), services.access.devices
    version = (body.app_version or request.headers.get(APP_VERSION_HEADER) or "")[:64] or None
    new = await devices.redeem(body.code, version, ip)
    principal = await devices.authenticate(new.token, ip, version)
    account = await _account(services, principal)
    answer = EnrolledDevice(
        new.id, new.token, account.username, account.display_name, sorted(principal.grids)
    )
    return Response(answer, status_code=201, headers=NO_STORE)


class Rotate(msgspec.Struct, forbid_unknown_fields=True):
    # Proposed by the tablet and kept by it before asking: if the answer is lost, the
    # tablet still holds the token the server may have switched to.
    token: Annotated[str, Meta(pattern=PROPOSED_DEVICE_TOKEN)] | None = None


class DeviceView(msgspec.Struct):
    device_id: str
    username: str
    display_name: str
    grids: list[str]


def _device(caller: Principal) -> str:
    if caller.kind != "device" or caller.device_id is None:
        raise Forbidden("device_required", "this is for a device, with its own token")
    return caller.device_id


@get("/api/device", summary="The calling device", responses=problems(401, 403))
async def this_device(services: ServicesDep, caller: Caller) -> DeviceView:
    """The calling device: its account and the grids it syncs (also a token check)."""
    device_id = _device(caller)
    account = await _account(services, caller)
    return DeviceView(device_id, account.username, account.display_name, sorted(caller.grids))


@post(
    "/api/device/rotate",
    status_code=200,
    summary="A new token for the calling device",
    responses=problems(400, 401, 403, 404, 413, 415),
    opt=_json_or_form(Rotate, required=False),
)
async def rotate(
    request: Request[object, object, State], services: ServicesDep, caller: Caller
) -> Response[DeviceToken]:
    """A new token for the calling device (the one it proposes, or one the server makes);
    the token that called stops working at once."""
    device_id = _device(caller)
    proposed = (await _body(request, Rotate)).token if await request.body() else None
    new = await services.access.devices.rotate(device_id, caller, proposed)
    return Response(DeviceToken(new.id, new.token), headers=NO_STORE)


ROUTES: list[HTTPRouteHandler] = [login, whoami, logout, logout_form, enroll, this_device, rotate]
