"""Members and devices: who works in the caller's grids, their tablets, enroll and revoke.

The same scope as the admin API (`reachable_accounts`): an admin sees every account, a
coordinator the field workers inside its grids; anything else answers as absent. The writes
go through `services.access.devices`, which audits them. Forms post the session's CSRF token
as the `csrf_token` field (checked with the caller).
"""

from collections import defaultdict
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import segno
from litestar import Request, get, post
from litestar.datastructures import State
from litestar.params import FromPath
from litestar.response import Redirect, Template
from markupsafe import Markup

from server.access.listing import (
    AccountFilter,
    AccountView,
    DeviceView,
    find_device,
    list_accounts,
    list_devices,
    reachable_accounts,
    reaches_account,
)
from server.access.principal import Principal
from server.access.roles import Permission
from server.admin.devices import enrollment_payload
from server.console.dashboard import SILENT_DAYS
from server.console.i18n import Lang, role_label
from server.console.render import lang_of, page
from server.errors import ClientError
from server.web.dependencies import Caller, Services, ServicesDep

PAGE = "/console/devices"
MAX_NAME = 100  # the admin API's limit on a device name


@dataclass(frozen=True, slots=True)
class Device:
    view: DeviceView
    # Not revoked and no sync (never: since enrolment) for SILENT_DAYS.
    silent: bool


@dataclass(frozen=True, slots=True)
class Member:
    account: AccountView
    role: str  # the role's label in the page's language
    devices: list[Device]


@dataclass(frozen=True, slots=True)
class Enrolled:
    """A code just started: shown on this page once, never in a URL."""

    account_id: str
    device_name: str
    code: str
    expires_at: datetime
    payload: str
    qr_svg: Markup


def _silent(device: DeviceView, now: datetime) -> bool:
    last = device.last_sync_at or device.created_at
    return device.revoked_at is None and last < now - timedelta(days=SILENT_DAYS)


async def _members(services: Services, caller: Principal, lang: Lang) -> list[Member]:
    reach = reachable_accounts(caller)
    async with services.database.connect() as connection:
        found = await list_accounts(connection, reach, AccountFilter())
        its_devices = await list_devices(connection, reach, None)
    now = datetime.now(UTC)
    by_account: dict[str, list[Device]] = defaultdict(list)
    for device in its_devices:
        by_account[device.account_id].append(Device(device, _silent(device, now)))
    return [
        Member(account, role_label(lang, account.role), by_account.get(account.id, []))
        for account in found
    ]


async def _page(
    request: Request[Any, Any, State],
    services: Services,
    caller: Principal,
    status: int = 200,
    **context: Any,
) -> Template:
    members = await _members(services, caller, lang_of(request))
    return page(
        request, "devices.html", caller, status=status, members=members, days=SILENT_DAYS, **context
    )


@get(PAGE, include_in_schema=False)
async def devices_page(
    request: Request[Any, Any, State], services: ServicesDep, caller: Caller
) -> Template:
    caller.require(Permission.MANAGE_DEVICES)
    done = "revoked" if request.query_params.get("done") == "revoked" else None
    shown = await _page(request, services, caller, done=done)
    # Who looked at which field workers' tablets, like every read of people's data.
    members = [member.account.id for member in shown.context["members"]]
    await services.access.audit.record(
        "devices.listed", caller, target_kind="account", detail={"accounts": members}
    )
    return shown


def _field(form: Mapping[str, Any], name: str) -> str:
    value = form.get(name)
    return value.strip() if isinstance(value, str) else ""


@post(f"{PAGE}/enroll", include_in_schema=False, status_code=200)
async def enroll(
    request: Request[Any, Any, State], services: ServicesDep, caller: Caller
) -> Template:
    """Start an enrollment and show its code and QR code on the page that answers."""
    caller.require(Permission.MANAGE_DEVICES)
    form = await request.form()
    account_id, name = _field(form, "account_id")[:36], _field(form, "device_name")
    async with services.database.connect() as connection:
        found = await reaches_account(connection, reachable_accounts(caller), account_id)
    if not account_id or not found:
        raise ClientError(404, "unknown_account", "no such account in your area")
    if not name or len(name) > MAX_NAME:
        return await _page(
            request, services, caller, status=400, error="device_name", error_account=account_id
        )
    enrollment = await services.access.devices.start_enrollment(account_id, name, caller)
    payload = enrollment_payload(str(request.base_url).rstrip("/"), enrollment.code)
    # Safe as markup: segno's SVG holds paths only, never the payload's text.
    qr_svg = Markup(segno.make(payload, error="m").svg_inline(scale=4))
    enrolled = Enrolled(account_id, name, enrollment.code, enrollment.expires_at, payload, qr_svg)
    return await _page(request, services, caller, enrolled=enrolled)


@post(f"{PAGE}/{{device_id:str}}/revoke", include_in_schema=False, status_code=303)
async def revoke(device_id: FromPath[str], services: ServicesDep, caller: Caller) -> Redirect:
    """Its next request is refused. Revoking a revoked device again changes nothing."""
    caller.require(Permission.MANAGE_DEVICES)
    async with services.database.connect() as connection:
        device = await find_device(connection, reachable_accounts(caller), device_id)
    if device is None:
        raise ClientError(404, "unknown_device", "no such device in your area")
    if device.revoked_at is None:
        await services.access.devices.revoke(device_id, caller)
    return Redirect(f"{PAGE}?done=revoked#device-{device_id}", status_code=303)


ROUTES = [devices_page, enroll, revoke]
