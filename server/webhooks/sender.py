"""Claiming due deliveries, POSTing them, and recording how it went.

A claim is a lease (`lease_until`), taken in a write transaction: on PostgreSQL with
`FOR UPDATE SKIP LOCKED`, so two server processes claim different deliveries without
waiting on each other; on SQLite the write lock serialises claims. A process killed while
sending leaves its lease to lapse, and the delivery is sent again (at least once: the
delivery id lets a receiver drop the second copy).
"""

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import httpx
import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncEngine

from server.db.engine import write_transaction
from server.db.feed_tables import webhook_deliveries, webhooks
from server.webhooks.config import WebhookConfig
from server.webhooks.signing import signed_headers

_due = (
    webhook_deliveries.c.status == "pending",
    webhook_deliveries.c.next_attempt_at <= sa.bindparam("now"),
    sa.or_(
        webhook_deliveries.c.lease_until.is_(None),
        webhook_deliveries.c.lease_until < sa.bindparam("now"),
    ),
)


@dataclass(frozen=True, slots=True)
class Claimed:
    id: str
    webhook_id: str
    event: str
    body: str
    attempts: int
    url: str
    secret: str


@dataclass(frozen=True, slots=True)
class Outcome:
    ok: bool
    status: int | None = None
    error: str | None = None


async def hooks_with_due(engine: AsyncEngine) -> list[str]:
    """Webhooks with a delivery to send now (a read: no write lock while idle)."""
    query = sa.select(webhook_deliveries.c.webhook_id).where(*_due).distinct()
    async with engine.connect() as connection:
        result = await connection.execute(query, {"now": datetime.now(UTC)})
        return list(result.scalars())


async def claim(engine: AsyncEngine, hook_id: str, config: WebhookConfig) -> list[Claimed]:
    now = datetime.now(UTC)
    query = (
        sa.select(
            webhook_deliveries.c.id,
            webhook_deliveries.c.webhook_id,
            webhook_deliveries.c.event,
            webhook_deliveries.c.body,
            webhook_deliveries.c.attempts,
            webhooks.c.url,
            webhooks.c.secret,
        )
        .join(webhooks, webhooks.c.id == webhook_deliveries.c.webhook_id)
        .where(webhook_deliveries.c.webhook_id == hook_id, *_due)
        .order_by(
            webhook_deliveries.c.next_attempt_at,
            webhook_deliveries.c.position,
            webhook_deliveries.c.event_id,
        )
        .limit(config.batch)
    )
    async with write_transaction(engine) as connection:
        if connection.dialect.name == "postgresql":
            query = query.with_for_update(skip_locked=True, of=webhook_deliveries)
        claimed = [Claimed(*row) for row in await connection.execute(query, {"now": now})]
        if claimed:
            await connection.execute(
                webhook_deliveries.update()
                .where(webhook_deliveries.c.id.in_([c.id for c in claimed]))
                .values(lease_until=now + timedelta(seconds=config.lease_seconds))
            )
    return claimed


async def send(client: httpx.AsyncClient, delivery: Claimed) -> Outcome:
    body = delivery.body.encode()
    headers = {
        "Content-Type": "application/json",
        "User-Agent": "Doorstep-Webhooks/1",
        "X-Doorstep-Event": delivery.event,
        "X-Doorstep-Delivery": delivery.id,
        **signed_headers(delivery.secret, body),
    }
    try:
        response = await client.post(delivery.url, content=body, headers=headers)
    except httpx.HTTPError as error:
        return Outcome(False, error=f"{type(error).__name__}: {error}"[:500])
    if response.is_success:
        return Outcome(True, response.status_code)
    return Outcome(False, response.status_code, f"HTTP {response.status_code}")


async def settle(
    engine: AsyncEngine,
    delivery: Claimed,
    outcome: Outcome,
    config: WebhookConfig,
    unsent: list[Claimed],
) -> None:
    """Record an attempt. After a failure the endpoint is taken to be down: the rest of
    the claim and the webhook's other due deliveries wait with this one (each counts only
    its own attempts), rather than each probing the dead endpoint in turn."""
    now = datetime.now(UTC)
    attempts = delivery.attempts + 1
    values: dict[str, object] = {
        "attempts": attempts,
        "lease_until": None,
        "last_status": outcome.status,
        "last_error": outcome.error,
    }
    retry_at = now
    if outcome.ok:
        values.update(status="delivered", delivered_at=now)
    elif attempts >= config.max_attempts:
        values.update(status="parked")
    else:
        retry_at = now + timedelta(seconds=config.backoff[attempts - 1])
        values.update(next_attempt_at=retry_at)
    mine = webhook_deliveries.c.id == delivery.id
    async with write_transaction(engine) as connection:
        await connection.execute(
            webhook_deliveries.update()
            .where(mine, webhook_deliveries.c.status == "pending")
            .values(**values)
        )
        if unsent:
            await connection.execute(
                webhook_deliveries.update()
                .where(webhook_deliveries.c.id.in_([d.id for d in unsent]))
                .values(lease_until=None, next_attempt_at=retry_at)
            )
        if retry_at > now:
            await connection.execute(
                webhook_deliveries.update()
                .where(
                    webhook_deliveries.c.webhook_id == delivery.webhook_id,
                    webhook_deliveries.c.status == "pending",
                    webhook_deliveries.c.next_attempt_at < retry_at,
                    webhook_deliveries.c.lease_until.is_(None),
                    ~mine,
                )
                .values(next_attempt_at=retry_at)
            )


async def prune(engine: AsyncEngine, older_than: timedelta) -> int:
    """Forget deliveries delivered long ago (parked ones stay until replayed or removed)."""
    async with write_transaction(engine) as connection:
        gone = await connection.execute(
            webhook_deliveries.delete().where(
                webhook_deliveries.c.status == "delivered",
                webhook_deliveries.c.delivered_at < datetime.now(UTC) - older_than,
            )
        )
    return gone.rowcount
