"""The audit log: who did what to which record or account, when, from where.

Append-only: the database refuses UPDATE and DELETE on it (migration 0003's triggers).
A change and its audit entry are written in one transaction when the caller passes its
connection; reads are audited on their own.
"""

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from server.access.principal import Principal
from server.db.access_tables import audit_log
from server.db.engine import write_transaction


@dataclass(frozen=True, slots=True)
class Actor:
    """Who acted, for entries made before (or without) a principal, such as logins."""

    account_id: str | None = None
    username: str | None = None
    device_id: str | None = None
    token_id: str | None = None
    ip: str | None = None

    @classmethod
    def of(cls, principal: Principal) -> "Actor":
        return cls(
            principal.account_id,
            principal.username,
            principal.device_id,
            principal.token_id,
            principal.ip,
        )


SYSTEM = Actor(username="(system)")
# Someone with a shell on the server host, through `doorstep` commands.
CLI = Actor(username="(cli)")


class Audit:
    def __init__(self, engine: AsyncEngine) -> None:
        self._engine = engine

    async def record(
        self,
        action: str,
        actor: Actor | Principal,
        *,
        outcome: str = "ok",
        target_kind: str | None = None,
        target: str | None = None,
        detail: dict[str, Any] | None = None,
        connection: AsyncConnection | None = None,
    ) -> None:
        row = entry(action, actor, outcome, target_kind, target, detail)
        if connection is not None:
            await connection.execute(audit_log.insert().values(row))
            return
        async with write_transaction(self._engine) as own:
            await own.execute(audit_log.insert().values(row))


def entry(
    action: str,
    actor: Actor | Principal,
    outcome: str = "ok",
    target_kind: str | None = None,
    target: str | None = None,
    detail: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """One audit log row, for writers that insert many at once."""
    who = actor if isinstance(actor, Actor) else Actor.of(actor)
    return {
        "at": datetime.now(UTC),
        "action": action,
        "outcome": outcome,
        "account_id": who.account_id,
        "username": who.username,
        "device_id": who.device_id,
        "token_id": who.token_id,
        "ip": who.ip,
        "target_kind": target_kind,
        "target": target,
        "detail": detail,
    }
