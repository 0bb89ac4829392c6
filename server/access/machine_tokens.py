"""Read-only API tokens for machines (nightly jobs, downstream systems), scoped by units."""

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncEngine

from server.access.accounts import check_units
from server.access.audit import Actor, Audit
from server.access.org import grids_below
from server.access.principal import Principal
from server.access.roles import MACHINE_PERMISSIONS
from server.access.secrets import MACHINE_TOKEN_PREFIX, hash_secret, new_token
from server.db.access_tables import machine_token_units, machine_tokens
from server.db.engine import write_transaction
from server.errors import ClientError, NotAuthenticated

LAST_USED_RESOLUTION = timedelta(minutes=1)


@dataclass(frozen=True, slots=True)
class NewMachineToken:
    id: str
    token: str


class MachineTokens:
    def __init__(self, engine: AsyncEngine, audit: Audit) -> None:
        self._engine = engine
        self._audit = audit

    async def create(
        self, name: str, units: Sequence[str], by: Actor | Principal
    ) -> NewMachineToken:
        created = NewMachineToken(str(uuid.uuid4()), new_token(MACHINE_TOKEN_PREFIX))
        async with write_transaction(self._engine) as connection:
            await check_units(connection, units)
            await connection.execute(
                machine_tokens.insert().values(
                    id=created.id,
                    name=name,
                    token_hash=hash_secret(created.token),
                    created_by=by.account_id,
                    created_at=datetime.now(UTC),
                )
            )
            await connection.execute(
                machine_token_units.insert(),
                [{"token_id": created.id, "unit": unit} for unit in sorted(set(units))],
            )
            await self._audit.record(
                "machine_token.created",
                by,
                target_kind="machine_token",
                target=created.id,
                detail={"name": name, "units": sorted(set(units))},
                connection=connection,
            )
        return created

    async def revoke(self, token_id: str, by: Actor | Principal) -> None:
        async with write_transaction(self._engine) as connection:
            changed = (
                await connection.execute(
                    machine_tokens.update()
                    .where(machine_tokens.c.id == token_id, machine_tokens.c.revoked_at.is_(None))
                    .values(revoked_at=datetime.now(UTC))
                )
            ).rowcount
            if not changed:
                raise ClientError(404, "unknown_token", "no such active token")
            await self._audit.record(
                "machine_token.revoked",
                by,
                target_kind="machine_token",
                target=token_id,
                connection=connection,
            )

    async def authenticate(self, token: str, ip: str | None) -> Principal:
        async with self._engine.connect() as connection:
            row = (
                await connection.execute(
                    sa.select(machine_tokens.c.id, machine_tokens.c.last_used_at).where(
                        machine_tokens.c.token_hash == hash_secret(token),
                        machine_tokens.c.revoked_at.is_(None),
                    )
                )
            ).first()
            if row is None:
                raise NotAuthenticated("invalid_token", "the token is unknown or revoked")
            roots = sa.select(machine_token_units.c.unit.label("code")).where(
                machine_token_units.c.token_id == row.id
            )
            grids = await grids_below(connection, roots)
        now = datetime.now(UTC)
        if row.last_used_at is None or now - row.last_used_at >= LAST_USED_RESOLUTION:
            async with write_transaction(self._engine) as connection:
                await connection.execute(
                    machine_tokens.update()
                    .where(machine_tokens.c.id == row.id)
                    .values(last_used_at=now)
                )
        return Principal("machine", MACHINE_PERMISSIONS, grids, token_id=row.id, ip=ip)
