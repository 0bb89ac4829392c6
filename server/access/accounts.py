"""Accounts: a role, the units they serve, and (for people at a desk) a password."""

import asyncio
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from server.access.audit import Actor, Audit
from server.access.principal import Principal
from server.access.roles import Role
from server.access.secrets import hash_password
from server.db.access_tables import account_units, accounts, org_units, sessions
from server.db.engine import write_transaction
from server.errors import ClientError

MIN_PASSWORD_LENGTH = 10


@dataclass(frozen=True, slots=True)
class AccountChange:
    display_name: str | None = None
    role: Role | None = None
    units: Sequence[str] | None = None
    disabled: bool | None = None
    password: str | None = None


def _check_password(password: str) -> None:
    if len(password) < MIN_PASSWORD_LENGTH:
        raise ClientError(
            400, "weak_password", f"a password needs at least {MIN_PASSWORD_LENGTH} characters"
        )


async def check_units(connection: AsyncConnection, units: Sequence[str]) -> None:
    known = set(
        (
            await connection.execute(
                sa.select(org_units.c.code).where(org_units.c.code.in_(list(units)))
            )
        ).scalars()
    )
    missing = sorted(set(units) - known)
    if missing:
        raise ClientError(400, "unknown_unit", f"no org unit {', '.join(missing)}")


class Accounts:
    def __init__(self, engine: AsyncEngine, audit: Audit) -> None:
        self._engine = engine
        self._audit = audit

    async def create(
        self,
        username: str,
        display_name: str,
        role: Role,
        units: Sequence[str],
        password: str | None,
        by: Actor | Principal,
    ) -> str:
        if password is not None:
            _check_password(password)
        # Hashed before the transaction: argon2 takes a while, and SQLite has one writer.
        password_hash = await asyncio.to_thread(hash_password, password) if password else None
        account_id = str(uuid.uuid4())
        taken = ClientError(409, "username_taken", f"{username!r} is taken")
        async with write_transaction(self._engine) as connection:
            await check_units(connection, units)
            try:
                await connection.execute(
                    accounts.insert().values(
                        id=account_id,
                        username=username,
                        display_name=display_name,
                        role=role,
                        password_hash=password_hash,
                        created_at=datetime.now(UTC),
                    )
                )
            except sa.exc.IntegrityError as error:  # the unique username
                raise taken from error
            await self._set_units(connection, account_id, units)
            await self._audit.record(
                "account.created",
                by,
                target_kind="account",
                target=account_id,
                detail={"username": username, "role": role, "units": sorted(units)},
                connection=connection,
            )
        return account_id

    async def change(self, account_id: str, change: AccountChange, by: Actor | Principal) -> None:
        values: dict[str, object] = {}
        detail: dict[str, object] = {}
        if change.display_name is not None:
            values["display_name"] = detail["display_name"] = change.display_name
        if change.role is not None:
            values["role"] = detail["role"] = change.role
        if change.disabled is not None:
            values["disabled_at"] = datetime.now(UTC) if change.disabled else None
            detail["disabled"] = change.disabled
        if change.password is not None:
            _check_password(change.password)
            values["password_hash"] = await asyncio.to_thread(hash_password, change.password)
            detail["password"] = "changed"
        async with write_transaction(self._engine) as connection:
            exists = await connection.scalar(
                sa.select(accounts.c.id).where(accounts.c.id == account_id)
            )
            if exists is None:
                raise ClientError(404, "unknown_account", "no such account")
            if values:
                await connection.execute(
                    accounts.update().where(accounts.c.id == account_id).values(values)
                )
            if change.password is not None or change.disabled:
                # A new password ends the sessions the old one opened, wherever they are.
                await connection.execute(
                    sessions.update()
                    .where(sessions.c.account_id == account_id, sessions.c.revoked_at.is_(None))
                    .values(revoked_at=datetime.now(UTC))
                )
            if change.units is not None:
                await check_units(connection, change.units)
                await self._set_units(connection, account_id, change.units)
                detail["units"] = sorted(change.units)
            await self._audit.record(
                "account.changed",
                by,
                target_kind="account",
                target=account_id,
                detail=detail,
                connection=connection,
            )

    @staticmethod
    async def _set_units(
        connection: AsyncConnection, account_id: str, units: Sequence[str]
    ) -> None:
        await connection.execute(
            account_units.delete().where(account_units.c.account_id == account_id)
        )
        if units:
            await connection.execute(
                account_units.insert(),
                [{"account_id": account_id, "unit": unit} for unit in sorted(set(units))],
            )
