"""Read queries behind the admin API: accounts, devices, machine tokens, the audit log, and
whose devices a caller may manage.

Views never carry a secret's hash: what was shown once stays out of every answer.
"""

from dataclasses import dataclass
from datetime import datetime
from typing import Any

import msgspec
import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection

from server.access.org import Level, below
from server.access.principal import Principal
from server.access.roles import Permission, Role
from server.db.access_tables import (
    account_units,
    accounts,
    audit_log,
    devices,
    machine_token_units,
    machine_tokens,
    org_units,
)

# Coordinators manage the tablets of the people who work in their grids, nobody else's.
FIELD_ROLES = (Role.GRID_MEMBER, Role.GRID_LEADER, Role.MEDIATOR)


class DeviceView(msgspec.Struct):
    id: str
    name: str
    account_id: str
    username: str
    display_name: str
    created_at: datetime
    last_seen_at: datetime | None
    last_sync_at: datetime | None
    app_version: str | None
    revoked_at: datetime | None
    rotated_at: datetime | None


class AccountView(msgspec.Struct):
    id: str
    username: str
    display_name: str
    role: Role
    role_label: str
    # The units the account is attached to; its scope is every grid at or below them.
    units: list[str]
    disabled: bool
    disabled_at: datetime | None
    has_password: bool
    created_at: datetime
    # Devices not revoked.
    device_count: int


class AccountDetail(AccountView):
    devices: list[DeviceView]


class TokenView(msgspec.Struct):
    id: str
    name: str
    units: list[str]
    created_by: str | None
    created_at: datetime
    last_used_at: datetime | None
    revoked_at: datetime | None


class AuditEntry(msgspec.Struct):
    id: int
    at: datetime
    action: str
    outcome: str
    account_id: str | None
    username: str | None
    device_id: str | None
    token_id: str | None
    ip: str | None
    target_kind: str | None
    target: str | None
    detail: dict[str, Any] | None


class AuditPage(msgspec.Struct):
    items: list[AuditEntry]
    # Pass as `before` for the next (older) page; null on the last page.
    next: int | None


def reachable_accounts(caller: Principal) -> sa.Select[tuple[str]] | None:
    """Accounts whose devices `caller` manages, or None for all of them (an admin).

    For anyone else: accounts of a field role with at least one grid, every one of them
    among the caller's grids. An account straddling the caller's edge belongs to someone
    with a wider view.
    """
    if caller.can(Permission.ADMIN):
        return None
    tree = sa.select(account_units.c.account_id, account_units.c.unit.label("code")).cte(
        "account_tree", recursive=True
    )
    child = org_units.alias("child")
    tree = tree.union_all(
        sa.select(tree.c.account_id, child.c.code).join(child, child.c.parent == tree.c.code)
    )
    grid_rows = (
        sa.select(tree.c.account_id)
        .join(org_units, org_units.c.code == tree.c.code)
        .where(org_units.c.level == Level.GRID.value)
    )
    grids = sorted(caller.grids)
    return sa.select(accounts.c.id).where(
        accounts.c.role.in_([role.value for role in FIELD_ROLES]),
        accounts.c.id.in_(grid_rows.where(tree.c.code.in_(grids))),
        accounts.c.id.not_in(grid_rows.where(tree.c.code.not_in(grids))),
    )


async def reaches_account(
    connection: AsyncConnection, reach: sa.Select[tuple[str]] | None, account_id: str
) -> bool:
    if reach is None:
        return True
    return await connection.scalar(reach.where(accounts.c.id == account_id)) is not None


def _within(column: sa.ColumnElement[str], reach: sa.Select[tuple[str]] | None) -> list[Any]:
    return [] if reach is None else [column.in_(reach)]


@dataclass(frozen=True, slots=True)
class AccountFilter:
    role: Role | None = None
    # Accounts attached to this unit or to a unit below it.
    unit: str | None = None
    account_id: str | None = None


def _account_where(
    reach: sa.Select[tuple[str]] | None, wanted: AccountFilter
) -> list[sa.ColumnElement[bool]]:
    where = _within(accounts.c.id, reach)
    if wanted.role is not None:
        where.append(accounts.c.role == wanted.role.value)
    if wanted.unit is not None:
        tree = below(sa.select(org_units.c.code).where(org_units.c.code == wanted.unit))
        attached = sa.select(account_units.c.account_id).where(
            account_units.c.unit.in_(sa.select(tree.c.code))
        )
        where.append(accounts.c.id.in_(attached))
    if wanted.account_id is not None:
        where.append(accounts.c.id == wanted.account_id)
    return where


async def list_accounts(
    connection: AsyncConnection, reach: sa.Select[tuple[str]] | None, wanted: AccountFilter
) -> list[AccountView]:
    where = _account_where(reach, wanted)
    ids = sa.select(accounts.c.id).where(*where)
    rows = await connection.execute(sa.select(accounts).where(*where).order_by(accounts.c.username))
    units: dict[str, list[str]] = {}
    for account_id, unit in await connection.execute(
        sa.select(account_units.c.account_id, account_units.c.unit)
        .where(account_units.c.account_id.in_(ids))
        .order_by(account_units.c.unit)
    ):
        units.setdefault(account_id, []).append(unit)
    counts: dict[str, int] = {
        account_id: count
        for account_id, count in await connection.execute(
            sa.select(devices.c.account_id, sa.func.count())
            .where(devices.c.account_id.in_(ids), devices.c.revoked_at.is_(None))
            .group_by(devices.c.account_id)
        )
    }
    return [_account_view(row, units.get(row.id, []), counts.get(row.id, 0)) for row in rows]


def _account_view(row: Any, units: list[str], device_count: int) -> AccountView:
    role = Role(row.role)
    return AccountView(
        id=row.id,
        username=row.username,
        display_name=row.display_name,
        role=role,
        role_label=role.label,
        units=units,
        disabled=row.disabled_at is not None,
        disabled_at=row.disabled_at,
        has_password=row.password_hash is not None,
        created_at=row.created_at,
        device_count=device_count,
    )


async def account_detail(
    connection: AsyncConnection, reach: sa.Select[tuple[str]] | None, account_id: str
) -> AccountDetail | None:
    found = await list_accounts(connection, reach, AccountFilter(account_id=account_id))
    if not found:
        return None
    its_devices = await list_devices(connection, reach, account_id)
    return AccountDetail(**msgspec.structs.asdict(found[0]), devices=its_devices)


def _device_query() -> sa.Select[Any]:
    return sa.select(
        devices.c.id,
        devices.c.name,
        devices.c.account_id,
        accounts.c.username,
        accounts.c.display_name,
        devices.c.created_at,
        devices.c.last_seen_at,
        devices.c.last_sync_at,
        devices.c.app_version,
        devices.c.revoked_at,
        devices.c.rotated_at,
    ).join(accounts, accounts.c.id == devices.c.account_id)


async def list_devices(
    connection: AsyncConnection, reach: sa.Select[tuple[str]] | None, account_id: str | None
) -> list[DeviceView]:
    where = _within(devices.c.account_id, reach)
    if account_id is not None:
        where.append(devices.c.account_id == account_id)
    rows = await connection.execute(
        _device_query().where(*where).order_by(accounts.c.username, devices.c.created_at)
    )
    return [DeviceView(**row._asdict()) for row in rows]


async def find_device(
    connection: AsyncConnection, reach: sa.Select[tuple[str]] | None, device_id: str
) -> DeviceView | None:
    where = [devices.c.id == device_id, *_within(devices.c.account_id, reach)]
    row = (await connection.execute(_device_query().where(*where))).first()
    return None if row is None else DeviceView(**row._asdict())


async def list_tokens(connection: AsyncConnection, token_id: str | None = None) -> list[TokenView]:
    where = [] if token_id is None else [machine_tokens.c.id == token_id]
    units: dict[str, list[str]] = {}
    for token, unit in await connection.execute(
        sa.select(machine_token_units.c.token_id, machine_token_units.c.unit).order_by(
            machine_token_units.c.unit
        )
    ):
        units.setdefault(token, []).append(unit)
    rows = await connection.execute(
        sa.select(machine_tokens).where(*where).order_by(machine_tokens.c.created_at)
    )
    return [
        TokenView(
            id=row.id,
            name=row.name,
            units=units.get(row.id, []),
            created_by=row.created_by,
            created_at=row.created_at,
            last_used_at=row.last_used_at,
            revoked_at=row.revoked_at,
        )
        for row in rows
    ]


@dataclass(frozen=True, slots=True)
class AuditQuery:
    # An action, or a prefix ending in `.*`: `device.*`.
    action: str | None = None
    outcome: str | None = None
    # An account id or a username (failed logins have only the name they tried).
    account: str | None = None
    device: str | None = None
    target: str | None = None
    since: datetime | None = None
    until: datetime | None = None
    before: int | None = None
    limit: int = 50


def _audit_where(query: AuditQuery) -> list[sa.ColumnElement[bool]]:
    where: list[sa.ColumnElement[bool]] = []
    if query.action is not None:
        prefix = query.action.removesuffix("*")
        where.append(
            audit_log.c.action.startswith(prefix, autoescape=True)
            if query.action.endswith(".*")
            else audit_log.c.action == query.action
        )
    if query.account is not None:
        where.append(
            sa.or_(audit_log.c.account_id == query.account, audit_log.c.username == query.account)
        )
    exact = {"outcome": query.outcome, "device_id": query.device, "target": query.target}
    where += [audit_log.c[name] == value for name, value in exact.items() if value is not None]
    if query.since is not None:
        where.append(audit_log.c.at >= query.since)
    if query.until is not None:
        where.append(audit_log.c.at < query.until)
    if query.before is not None:
        where.append(audit_log.c.id < query.before)
    return where


async def audit_page(connection: AsyncConnection, query: AuditQuery) -> AuditPage:
    """Newest first, keyset-paged on the id: pages neither repeat nor skip while it grows."""
    rows = await connection.execute(
        sa.select(audit_log)
        .where(*_audit_where(query))
        .order_by(audit_log.c.id.desc())
        .limit(query.limit + 1)
    )
    items = [AuditEntry(**row._asdict()) for row in rows]
    more = len(items) > query.limit
    items = items[: query.limit]
    return AuditPage(items, items[-1].id if more else None)
