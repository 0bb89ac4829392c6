"""Tablets: enrollment by one-time code, their tokens, revocation and rotation.

A device belongs to one account and syncs that account's scope, as it is at each request:
moving the account moves its tablets with it.
"""

import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from server.access.audit import Actor, Audit, entry
from server.access.org import grids_below
from server.access.principal import Principal
from server.access.roles import PERMISSIONS, Role
from server.access.secrets import (
    DEVICE_TOKEN_PREFIX,
    hash_secret,
    new_enrollment_code,
    new_token,
    normalise_code,
)
from server.db.access_tables import account_units, accounts, audit_log, devices, enrollments
from server.db.engine import write_transaction
from server.errors import ClientError, NotAuthenticated
from sync.group_commit import GroupCommit

ENROLLMENT_LIFETIME = timedelta(minutes=30)
# Recording every request's time would add a write to every read: once a minute is enough.
LAST_SEEN_RESOLUTION = timedelta(minutes=1)


@dataclass(frozen=True, slots=True)
class Enrollment:
    code: str
    account_id: str
    device_name: str
    expires_at: datetime


@dataclass(frozen=True, slots=True)
class NewDevice:
    id: str
    token: str
    account_id: str


def units_of(account_id: str) -> sa.Select[tuple[str]]:
    return sa.select(account_units.c.unit.label("code")).where(
        account_units.c.account_id == account_id
    )


class Devices:
    def __init__(self, engine: AsyncEngine, audit: Audit) -> None:
        self._engine = engine
        self._audit = audit
        self._syncs = GroupCommit(self._write_syncs)

    async def start_enrollment(
        self, account_id: str, device_name: str, by: Actor | Principal
    ) -> Enrollment:
        """A one-time code (shown as text and QR) that a tablet redeems for its token."""
        code = new_enrollment_code()
        now = datetime.now(UTC)
        enrollment = Enrollment(code, account_id, device_name, now + ENROLLMENT_LIFETIME)
        async with write_transaction(self._engine) as connection:
            await _existing_account(connection, account_id)
            await connection.execute(
                enrollments.insert().values(
                    code_hash=hash_secret(code),
                    account_id=account_id,
                    device_name=device_name,
                    created_by=by.account_id,
                    created_at=now,
                    expires_at=enrollment.expires_at,
                )
            )
            await self._audit.record(
                "device.enrollment_started",
                by,
                target_kind="account",
                target=account_id,
                detail={"device_name": device_name},
                connection=connection,
            )
        return enrollment

    async def redeem(self, code: str, app_version: str | None, ip: str | None) -> NewDevice:
        """Turn an enrollment code into a device and its token; each code works once."""
        now = datetime.now(UTC)
        code_hash = hash_secret(normalise_code(code))
        async with write_transaction(self._engine) as connection:
            row = (
                await connection.execute(
                    sa.select(enrollments).where(enrollments.c.code_hash == code_hash)
                )
            ).first()
            if row is None or row.used_at is not None or row.expires_at <= now:
                failed = ClientError(
                    400, "invalid_enrollment_code", "the code is unknown, used or expired"
                )
            else:
                failed = None
                device = NewDevice(
                    str(uuid.uuid4()), new_token(DEVICE_TOKEN_PREFIX), row.account_id
                )
                await connection.execute(
                    devices.insert().values(
                        id=device.id,
                        name=row.device_name,
                        account_id=row.account_id,
                        token_hash=hash_secret(device.token),
                        created_at=now,
                        app_version=app_version,
                    )
                )
                await connection.execute(
                    enrollments.update()
                    .where(enrollments.c.code_hash == code_hash)
                    .values(used_at=now, device_id=device.id)
                )
                await self._audit.record(
                    "device.enrolled",
                    Actor(account_id=row.account_id, device_id=device.id, ip=ip),
                    target_kind="device",
                    target=device.id,
                    detail={"name": row.device_name, "app_version": app_version},
                    connection=connection,
                )
        if failed is not None:
            await self._audit.record("device.enroll", Actor(ip=ip), outcome="failed")
            raise failed
        return device

    async def add(self, account_id: str, name: str, by: Actor | Principal) -> NewDevice:
        """Enroll at once: for the CLI and the demo, which hand the token over themselves."""
        enrollment = await self.start_enrollment(account_id, name, by)
        return await self.redeem(enrollment.code, None, by.ip)

    async def authenticate(
        self, token: str, ip: str | None, app_version: str | None, *, syncing: bool = False
    ) -> Principal:
        """The device's principal. Its last request and app version are written once a
        minute; a sync (`syncing`) writes them with its audit entry instead (`synced`)."""
        async with self._engine.connect() as connection:
            row = (
                await connection.execute(
                    sa.select(
                        devices.c.id,
                        devices.c.last_seen_at,
                        devices.c.app_version,
                        accounts.c.id.label("account_id"),
                        accounts.c.username,
                        accounts.c.role,
                    )
                    .join(accounts, accounts.c.id == devices.c.account_id)
                    .where(
                        devices.c.token_hash == hash_secret(token),
                        devices.c.revoked_at.is_(None),
                        accounts.c.disabled_at.is_(None),
                    )
                )
            ).first()
            if row is None:
                raise NotAuthenticated("invalid_token", "the token is unknown or revoked")
            grids = await grids_below(connection, units_of(row.account_id))
        if not syncing:
            await self._seen(row, app_version)
        role = Role(row.role)
        return Principal(
            "device",
            PERMISSIONS[role],
            grids,
            account_id=row.account_id,
            username=row.username,
            role=role,
            device_id=row.id,
            ip=ip,
            app_version=app_version[:64] if app_version else None,
        )

    async def _seen(self, row: Any, app_version: str | None) -> None:
        now = datetime.now(UTC)
        version = app_version[:64] if app_version else row.app_version
        recent = row.last_seen_at is not None and now - row.last_seen_at < LAST_SEEN_RESOLUTION
        if recent and version == row.app_version:
            return
        async with write_transaction(self._engine) as connection:
            await connection.execute(
                devices.update()
                .where(devices.c.id == row.id)
                .values(last_seen_at=now, app_version=version)
            )

    async def synced(self, principal: Principal, detail: dict[str, Any]) -> None:
        """Record a sync: the device's last request, sync and app version, and an audit
        entry. Syncs that arrive together share one transaction."""
        await self._syncs.append([(principal, detail)])

    async def _write_syncs(self, syncs: list[tuple[Principal, dict[str, Any]]]) -> None:
        now = datetime.now(UTC)
        seen = devices.update().where(devices.c.id == sa.bindparam("device"))
        version: sa.ColumnElement[str] = sa.func.coalesce(
            sa.bindparam("version"), devices.c.app_version
        )
        async with write_transaction(self._engine) as connection:
            await connection.execute(
                seen.values(last_seen_at=now, last_sync_at=now, app_version=version),
                [{"device": p.device_id, "version": p.app_version} for p, _ in syncs],
            )
            await connection.execute(
                audit_log.insert(), [entry("sync", p, detail=detail) for p, detail in syncs]
            )

    async def rotate(
        self, device_id: str, by: Actor | Principal, token: str | None = None
    ) -> NewDevice:
        """A new token for the device (`token` if the tablet proposed one); the old one
        stops working at once."""
        token = token or new_token(DEVICE_TOKEN_PREFIX)
        async with write_transaction(self._engine) as connection:
            account_id = (
                await connection.execute(
                    devices.update()
                    .where(devices.c.id == device_id, devices.c.revoked_at.is_(None))
                    .values(token_hash=hash_secret(token), rotated_at=datetime.now(UTC))
                    .returning(devices.c.account_id)
                )
            ).scalar_one_or_none()
            if account_id is None:
                raise ClientError(404, "unknown_device", "no such active device")
            await self._audit.record(
                "device.rotated", by, target_kind="device", target=device_id, connection=connection
            )
        return NewDevice(device_id, token, account_id)

    async def revoke(self, device_id: str, by: Actor | Principal) -> None:
        async with write_transaction(self._engine) as connection:
            changed = (
                await connection.execute(
                    devices.update()
                    .where(devices.c.id == device_id, devices.c.revoked_at.is_(None))
                    .values(revoked_at=datetime.now(UTC))
                )
            ).rowcount
            if not changed:
                raise ClientError(404, "unknown_device", "no such active device")
            await self._audit.record(
                "device.revoked", by, target_kind="device", target=device_id, connection=connection
            )

    async def rename(self, device_id: str, name: str, by: Actor | Principal) -> None:
        async with write_transaction(self._engine) as connection:
            changed = (
                await connection.execute(
                    devices.update().where(devices.c.id == device_id).values(name=name)
                )
            ).rowcount
            if not changed:
                raise ClientError(404, "unknown_device", "no such device")
            await self._audit.record(
                "device.renamed",
                by,
                target_kind="device",
                target=device_id,
                detail={"name": name},
                connection=connection,
            )


async def _existing_account(connection: AsyncConnection, account_id: str) -> None:
    found = await connection.scalar(
        sa.select(accounts.c.id).where(
            accounts.c.id == account_id, accounts.c.disabled_at.is_(None)
        )
    )
    if found is None:
        raise ClientError(404, "unknown_account", "no such active account")
