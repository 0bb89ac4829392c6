"""Tablets: enroll (a one-time code and its QR), list, rename, revoke and rotate.

Admins manage every device; a coordinator only those of the field workers inside its grids
(`reachable_accounts`). Anything else is answered exactly as if it did not exist.
"""

from datetime import datetime
from typing import Annotated
from urllib.parse import quote

import msgspec
import segno
from litestar import Request, get, patch, post
from litestar.datastructures import State
from litestar.params import FromPath, FromQuery

from server.access.listing import (
    DeviceView,
    find_device,
    list_devices,
    reachable_accounts,
    reaches_account,
)
from server.access.principal import Principal
from server.access.roles import Permission
from server.admin.common import BODY_REFUSED, NO_STORE, REFUSED, allow, json_body, read_json
from server.errors import ClientError
from server.web.dependencies import Caller, Services, ServicesDep
from server.web.openapi import problems

DeviceName = Annotated[str, msgspec.Meta(min_length=1, max_length=100, pattern=r"\S")]


class DeviceList(msgspec.Struct):
    # By account username, then oldest first; revoked devices included.
    items: list[DeviceView]


class NewEnrollment(msgspec.Struct, forbid_unknown_fields=True, frozen=True):
    account_id: Annotated[str, msgspec.Meta(max_length=36)]
    device_name: DeviceName


class EnrollmentCode(msgspec.Struct):
    # Valid once, until `expires_at`; typed on the tablet, or scanned as `payload`.
    code: str
    expires_at: datetime
    payload: str
    qr_svg: str


class DeviceRename(msgspec.Struct, forbid_unknown_fields=True, frozen=True):
    name: DeviceName


class RotatedToken(msgspec.Struct):
    device_id: str
    # Shown this once: only its hash is kept.
    token: str


_new_enrollment = msgspec.json.Decoder(NewEnrollment)
_rename = msgspec.json.Decoder(DeviceRename)


def enrollment_payload(server_url: str, code: str) -> str:
    """What the QR code holds: the server to talk to and the code to redeem there."""
    return f"doorstep://enroll?server={quote(server_url, safe='')}&code={code}"


async def _reachable_device(services: Services, caller: Principal, device_id: str) -> DeviceView:
    async with services.database.connect() as connection:
        device = await find_device(connection, reachable_accounts(caller), device_id)
    if device is None:
        raise ClientError(404, "unknown_device", "no such device")
    return device


async def _check_reachable_account(services: Services, caller: Principal, account_id: str) -> None:
    # For an admin, Devices says whether the account exists (and is active).
    async with services.database.connect() as connection:
        found = await reaches_account(connection, reachable_accounts(caller), account_id)
    if not found:
        raise ClientError(404, "unknown_account", "no such active account")


@get("/api/admin/devices", summary="Devices you manage", responses=problems(*REFUSED))
async def list_all(
    services: ServicesDep, caller: Caller, account: FromQuery[str | None] = None
) -> DeviceList:
    allow(caller, Permission.MANAGE_DEVICES)
    async with services.database.connect() as connection:
        return DeviceList(await list_devices(connection, reachable_accounts(caller), account))


@post(
    "/api/admin/enrollments",
    status_code=201,
    cache_control=NO_STORE,
    summary="Start a tablet's enrollment",
    responses=problems(*BODY_REFUSED, 404),
    opt=json_body(NewEnrollment),
)
async def enroll(
    request: Request[object, object, State], services: ServicesDep, caller: Caller
) -> EnrollmentCode:
    allow(caller, Permission.MANAGE_DEVICES)
    body = await read_json(request, _new_enrollment)
    await _check_reachable_account(services, caller, body.account_id)
    enrollment = await services.access.devices.start_enrollment(
        body.account_id, body.device_name, caller
    )
    payload = enrollment_payload(str(request.base_url).rstrip("/"), enrollment.code)
    qr_svg = segno.make(payload, error="m").svg_inline(scale=4)
    return EnrollmentCode(enrollment.code, enrollment.expires_at, payload, qr_svg)


@patch(
    "/api/admin/devices/{device_id:str}",
    summary="Rename a device",
    responses=problems(*BODY_REFUSED, 404),
    opt=json_body(DeviceRename),
)
async def rename(
    device_id: FromPath[str],
    request: Request[object, object, State],
    services: ServicesDep,
    caller: Caller,
) -> DeviceView:
    allow(caller, Permission.MANAGE_DEVICES)
    body = await read_json(request, _rename)
    await _reachable_device(services, caller, device_id)
    await services.access.devices.rename(device_id, body.name, caller)
    return await _reachable_device(services, caller, device_id)


@post(
    "/api/admin/devices/{device_id:str}/revoke",
    status_code=204,
    summary="Cut a device off",
    responses=problems(*REFUSED, 404),
)
async def revoke(device_id: FromPath[str], services: ServicesDep, caller: Caller) -> None:
    """Its next request is refused. Revoking a revoked device again changes nothing."""
    allow(caller, Permission.MANAGE_DEVICES)
    device = await _reachable_device(services, caller, device_id)
    if device.revoked_at is None:
        await services.access.devices.revoke(device_id, caller)


@post(
    "/api/admin/devices/{device_id:str}/rotate",
    status_code=200,
    cache_control=NO_STORE,
    summary="New device token",
    responses=problems(*REFUSED, 404, 409),
)
async def rotate(device_id: FromPath[str], services: ServicesDep, caller: Caller) -> RotatedToken:
    """The old token stops working at once; the new one is shown in this answer only."""
    allow(caller, Permission.MANAGE_DEVICES)
    device = await _reachable_device(services, caller, device_id)
    if device.revoked_at is not None:
        raise ClientError(409, "device_revoked", "a revoked device cannot get a token: enroll it")
    rotated = await services.access.devices.rotate(device_id, caller)
    return RotatedToken(rotated.id, rotated.token)


ROUTES = [list_all, enroll, rename, revoke, rotate]
