"""Registering webhooks and looking after their deliveries (the admin API and the CLI)."""

import secrets
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from server.access.audit import Actor, Audit
from server.access.principal import Principal
from server.db.engine import write_transaction
from server.db.feed_tables import webhook_deliveries, webhooks
from server.db.tables import documents
from server.errors import ClientError

EVENTS = ("record.changed", "record.reviewed")
SECRET_PREFIX = "whsec_"


@dataclass(frozen=True, slots=True)
class NewWebhook:
    id: str
    secret: str


async def create(
    engine: AsyncEngine, audit: Audit, url: str, events: list[str], by: Actor | Principal
) -> NewWebhook:
    """A webhook that hears of changes from now on (not of the records' past)."""
    created = NewWebhook(str(uuid.uuid4()), SECRET_PREFIX + secrets.token_urlsafe(32))
    async with write_transaction(engine) as connection:
        head = await connection.scalar(sa.select(sa.func.max(documents.c.head_seq)))
        await connection.execute(
            webhooks.insert().values(
                id=created.id,
                url=url,
                events=sorted(set(events)),
                secret=created.secret,
                created_by=by.account_id,
                created_at=datetime.now(UTC),
                feed_seq=head or 0,
            )
        )
        await audit.record(
            "webhook.created",
            by,
            target_kind="webhook",
            target=created.id,
            detail={"url": url, "events": sorted(set(events))},
            connection=connection,
        )
    return created


async def listed(connection: AsyncConnection) -> list[dict[str, Any]]:
    """Every webhook (its secret left out) with its deliveries counted by status."""
    counts = sa.select(
        webhook_deliveries.c.webhook_id, webhook_deliveries.c.status, sa.func.count()
    ).group_by(webhook_deliveries.c.webhook_id, webhook_deliveries.c.status)
    by_hook: dict[str, dict[str, int]] = {}
    for hook_id, status, count in await connection.execute(counts):
        by_hook.setdefault(hook_id, {})[status] = count
    shown = (webhooks.c.id, webhooks.c.url, webhooks.c.events, webhooks.c.created_at)
    rows = await connection.execute(
        sa.select(*shown).order_by(webhooks.c.created_at, webhooks.c.id)
    )
    return [{**row._asdict(), "deliveries": by_hook.get(row.id, {})} for row in rows]


async def remove(engine: AsyncEngine, audit: Audit, hook_id: str, by: Actor | Principal) -> None:
    """Gone with its deliveries: nothing more is sent to it."""
    async with write_transaction(engine) as connection:
        await connection.execute(
            webhook_deliveries.delete().where(webhook_deliveries.c.webhook_id == hook_id)
        )
        gone = (
            await connection.execute(webhooks.delete().where(webhooks.c.id == hook_id))
        ).rowcount
        if not gone:
            raise ClientError(404, "unknown_webhook", "no such webhook")
        await audit.record(
            "webhook.removed", by, target_kind="webhook", target=hook_id, connection=connection
        )


async def deliveries(
    connection: AsyncConnection, hook_id: str, status: str | None, limit: int
) -> list[dict[str, Any]]:
    """The webhook's latest deliveries, newest first."""
    await _exists(connection, hook_id)
    columns = [c for c in webhook_deliveries.c if c.name not in ("body", "lease_until")]
    query = (
        sa.select(*columns)
        .where(webhook_deliveries.c.webhook_id == hook_id)
        .order_by(webhook_deliveries.c.created_at.desc(), webhook_deliveries.c.position.desc())
        .limit(limit)
    )
    if status is not None:
        query = query.where(webhook_deliveries.c.status == status)
    return [dict(row) for row in (await connection.execute(query)).mappings()]


async def replay(
    engine: AsyncEngine,
    audit: Audit,
    hook_id: str,
    delivery_id: str | None,
    by: Actor | Principal,
) -> int:
    """Parked deliveries (one, or all of the webhook's) start over; how many."""
    async with write_transaction(engine) as connection:
        await _exists(connection, hook_id)
        which = [
            webhook_deliveries.c.webhook_id == hook_id,
            webhook_deliveries.c.status == "parked",
        ]
        if delivery_id is not None:
            which.append(webhook_deliveries.c.id == delivery_id)
        replayed = (
            await connection.execute(
                webhook_deliveries.update()
                .where(*which)
                .values(status="pending", attempts=0, next_attempt_at=datetime.now(UTC))
            )
        ).rowcount
        if delivery_id is not None and not replayed:
            raise ClientError(404, "unknown_delivery", "no such parked delivery")
        await audit.record(
            "webhook.replayed",
            by,
            target_kind="webhook",
            target=hook_id,
            detail={"delivery": delivery_id, "count": replayed},
            connection=connection,
        )
    return replayed


async def _exists(connection: AsyncConnection, hook_id: str) -> None:
    found = await connection.scalar(sa.select(webhooks.c.id).where(webhooks.c.id == hook_id))
    if found is None:
        raise ClientError(404, "unknown_webhook", "no such webhook")
