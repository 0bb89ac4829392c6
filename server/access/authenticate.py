"""Who is calling: a device or machine bearer token, or a browser session cookie.

Session requests that change something must also send the session's CSRF token in the
`X-CSRF-Token` header (or a `csrf_token` form field): a page of another site can make the
browser send the cookie, but can neither read nor derive that token. Bearer tokens are
never sent by a browser on its own, so they need no such check.
"""

import hmac
from dataclasses import dataclass

from litestar import Request
from litestar.datastructures import State
from sqlalchemy.ext.asyncio import AsyncEngine

from server.access.accounts import Accounts
from server.access.audit import Audit
from server.access.devices import Devices
from server.access.machine_tokens import MachineTokens
from server.access.org import OrgTree
from server.access.principal import Forbidden, Principal
from server.access.secrets import DEVICE_TOKEN_PREFIX, MACHINE_TOKEN_PREFIX, csrf_token
from server.access.sessions import LoginPolicy, Sessions
from server.errors import NotAuthenticated

SESSION_COOKIE = "doorstep_session"
CSRF_HEADER = "x-csrf-token"
APP_VERSION_HEADER = "x-app-version"
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})


@dataclass(slots=True)
class Access:
    """The access services, built once per process."""

    audit: Audit
    accounts: Accounts
    devices: Devices
    machine_tokens: MachineTokens
    sessions: Sessions
    org: OrgTree

    @classmethod
    def build(cls, engine: AsyncEngine, policy: LoginPolicy) -> "Access":
        audit = Audit(engine)
        return cls(
            audit,
            Accounts(engine, audit),
            Devices(engine, audit),
            MachineTokens(engine, audit),
            Sessions(engine, audit, policy),
            OrgTree(engine, audit),
        )

    async def authenticate(self, request: Request[object, object, State]) -> Principal:
        ip = request.client.host if request.client else None
        authorization = request.headers.get("authorization")
        if authorization:
            scheme, _, token = authorization.partition(" ")
            token = token.strip()
            if scheme.lower() == "bearer" and token.startswith(DEVICE_TOKEN_PREFIX):
                version = request.headers.get(APP_VERSION_HEADER)
                # Pushes record the device's last request with the sync (`Devices.synced`).
                path = request.url.path
                syncing = request.method == "POST" and (
                    path == "/api/sync" or path.startswith("/docs/")
                )
                return await self.devices.authenticate(token, ip, version, syncing=syncing)
            if scheme.lower() == "bearer" and token.startswith(MACHINE_TOKEN_PREFIX):
                return await self.machine_tokens.authenticate(token, ip)
            raise NotAuthenticated("invalid_token", "the token is unknown or revoked")
        secret = request.cookies.get(SESSION_COOKIE)
        if not secret:
            raise NotAuthenticated(
                "missing_credentials", "send Authorization: Bearer <token>, or log in"
            )
        principal = await self.sessions.authenticate(secret, ip)
        if request.method not in SAFE_METHODS:
            await _check_csrf(request, secret)
        return principal


async def _check_csrf(request: Request[object, object, State], secret: str) -> None:
    sent = request.headers.get(CSRF_HEADER)
    if sent is None and request.headers.get("content-type", "").startswith(
        ("application/x-www-form-urlencoded", "multipart/form-data")
    ):
        form = await request.form()
        field = form.get("csrf_token")
        sent = field if isinstance(field, str) else None
    if not sent or not hmac.compare_digest(sent, csrf_token(secret)):
        raise Forbidden("csrf_failed", f"send the session's CSRF token in {CSRF_HEADER}")
