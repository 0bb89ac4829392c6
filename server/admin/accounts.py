"""Accounts: create, list, show and change them (role, units, password, disabled).

Admins see and change every account. Whoever manages devices (a coordinator) may list
and show the accounts whose tablets they manage, to enroll them; nobody else's.
Moving a grid member to another grid is a change of their units: their tablets follow at
their next sync.
"""

from typing import Annotated

import msgspec
from litestar import Request, get, patch, post
from litestar.datastructures import State
from litestar.params import FromPath, FromQuery

from server.access.accounts import AccountChange
from server.access.listing import (
    AccountDetail,
    AccountFilter,
    AccountView,
    account_detail,
    list_accounts,
    reachable_accounts,
)
from server.access.principal import Principal
from server.access.roles import Permission, Role
from server.admin.common import BODY_REFUSED, REFUSED, allow, json_body, read_json
from server.errors import ClientError
from server.web.dependencies import Caller, ServicesDep
from server.web.openapi import problems

Username = Annotated[str, msgspec.Meta(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9._-]+$")]
DisplayName = Annotated[str, msgspec.Meta(min_length=1, max_length=100, pattern=r"\S")]
# Accounts checks the minimum; the maximum bounds the work of hashing it.
Password = Annotated[str, msgspec.Meta(max_length=256)]
Units = Annotated[list[Annotated[str, msgspec.Meta(max_length=64)]], msgspec.Meta(max_length=500)]


class AccountList(msgspec.Struct):
    # By username.
    items: list[AccountView]


class NewAccount(msgspec.Struct, forbid_unknown_fields=True, frozen=True):
    username: Username
    display_name: DisplayName
    role: Role
    units: Units = msgspec.field(default_factory=list)
    # None for an account that only syncs through its tablets.
    password: Password | None = None


class AccountEdit(msgspec.Struct, forbid_unknown_fields=True, frozen=True):
    display_name: DisplayName | None = None
    role: Role | None = None
    units: Units | None = None
    disabled: bool | None = None
    password: Password | None = None


class Created(msgspec.Struct):
    id: str


_new_account = msgspec.json.Decoder(NewAccount)
_account_edit = msgspec.json.Decoder(AccountEdit)


def _role(text: str | None) -> Role | None:
    if text is None:
        return None
    try:
        return Role(text)
    except ValueError as error:
        roles = ", ".join(role.value for role in Role)
        raise ClientError(400, "unknown_role", f"{text!r} is not one of {roles}") from error


@get(
    "/api/admin/accounts",
    summary="Accounts, by role and unit",
    responses=problems(400, *REFUSED),
)
async def list_all(
    services: ServicesDep,
    caller: Caller,
    role: FromQuery[str | None] = None,
    unit: FromQuery[str | None] = None,
) -> AccountList:
    """`unit` keeps the accounts attached to that unit or to a unit below it."""
    allow(caller, Permission.MANAGE_DEVICES)
    wanted = AccountFilter(_role(role), unit)
    async with services.database.connect() as connection:
        return AccountList(await list_accounts(connection, reachable_accounts(caller), wanted))


@get(
    "/api/admin/accounts/{account_id:str}",
    summary="One account and its devices",
    responses=problems(*REFUSED, 404),
)
async def show(account_id: FromPath[str], services: ServicesDep, caller: Caller) -> AccountDetail:
    allow(caller, Permission.MANAGE_DEVICES)
    async with services.database.connect() as connection:
        found = await account_detail(connection, reachable_accounts(caller), account_id)
    if found is None:
        raise ClientError(404, "unknown_account", "no such account")
    return found


@post(
    "/api/admin/accounts",
    status_code=201,
    summary="Create an account",
    responses=problems(*BODY_REFUSED, 409),
    opt=json_body(NewAccount),
)
async def create(
    request: Request[object, object, State], services: ServicesDep, caller: Caller
) -> Created:
    allow(caller, Permission.ADMIN)
    body = await read_json(request, _new_account)
    account_id = await services.access.accounts.create(
        body.username, body.display_name, body.role, body.units, body.password, caller
    )
    return Created(account_id)


@patch(
    "/api/admin/accounts/{account_id:str}",
    summary="Change an account",
    responses=problems(*BODY_REFUSED, 404, 409),
    opt=json_body(AccountEdit),
)
async def change(
    account_id: FromPath[str],
    request: Request[object, object, State],
    services: ServicesDep,
    caller: Caller,
) -> AccountDetail:
    allow(caller, Permission.ADMIN)
    body = await read_json(request, _account_edit)
    _keep_own_admin(caller, account_id, body)
    change = AccountChange(body.display_name, body.role, body.units, body.disabled, body.password)
    await services.access.accounts.change(account_id, change, caller)
    async with services.database.connect() as connection:
        found = await account_detail(connection, None, account_id)
    assert found is not None  # it was just changed; accounts are never deleted
    return found


def _keep_own_admin(caller: Principal, account_id: str, body: AccountEdit) -> None:
    """An admin who demoted or disabled themselves could lock everyone out of this API."""
    if account_id != caller.account_id:
        return
    if body.disabled or body.role not in (None, Role.ADMIN):
        raise ClientError(
            409, "own_account", "you cannot disable your own account or give up its role"
        )


ROUTES = [list_all, show, create, change]
