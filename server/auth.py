"""Devices and their bearer tokens (stored as SHA-256 hashes, never in clear).

A token carries 256 random bits, so a fast hash is enough: a slow password hash
protects guessable secrets, and these are not guessable.
"""

import hashlib
import secrets
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncEngine

from server.db.engine import write_transaction
from server.db.tables import devices
from server.errors import NotAuthenticated
from sync import Scope

TOKEN_PREFIX = "dst_"
# Recording every request's time would add a write to every read: once a minute is enough.
LAST_SEEN_RESOLUTION = timedelta(minutes=1)


def hash_token(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


@dataclass(frozen=True, slots=True)
class NewDevice:
    id: str
    token: str


class Devices:
    def __init__(self, engine: AsyncEngine) -> None:
        self._engine = engine

    async def add(self, name: str, grid: str) -> NewDevice:
        device = NewDevice(str(uuid.uuid4()), TOKEN_PREFIX + secrets.token_urlsafe(32))
        async with write_transaction(self._engine) as connection:
            await connection.execute(
                devices.insert().values(
                    id=device.id,
                    name=name,
                    grid=grid,
                    token_hash=hash_token(device.token),
                    created_at=datetime.now(UTC),
                )
            )
        return device

    async def authenticate(self, authorization: str | None) -> Scope:
        """The scope of the device presenting `Authorization: Bearer <token>`."""
        if not authorization:
            raise NotAuthenticated("missing_token", "send Authorization: Bearer <device token>")
        scheme, _, token = authorization.partition(" ")
        if scheme.lower() != "bearer" or not token.strip():
            raise NotAuthenticated("missing_token", "send Authorization: Bearer <device token>")
        async with self._engine.connect() as connection:
            row = (
                await connection.execute(
                    sa.select(devices.c.id, devices.c.grid, devices.c.last_seen_at).where(
                        devices.c.token_hash == hash_token(token.strip()),
                        devices.c.revoked_at.is_(None),
                    )
                )
            ).first()
        if row is None:
            raise NotAuthenticated("invalid_token", "the token is unknown or revoked")
        await self._seen(row.id, row.last_seen_at)
        return Scope(device=row.id, grids=frozenset({row.grid}))

    async def _seen(self, device_id: str, last_seen_at: datetime | None) -> None:
        now = datetime.now(UTC)
        if last_seen_at is not None and now - last_seen_at < LAST_SEEN_RESOLUTION:
            return
        async with write_transaction(self._engine) as connection:
            await connection.execute(
                devices.update().where(devices.c.id == device_id).values(last_seen_at=now)
            )
