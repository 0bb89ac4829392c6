"""The delivery loop every server process runs (started in server/app.py's lifespan).

Each round: move every webhook's feed cursor forward (server/webhooks/outbox.py), then
start a sender for each webhook with deliveries due and no sender of this process still
at work. A sender works through its claimed deliveries one by one, each POST bounded by
the timeout, so a slow or dead endpoint holds up only its own webhook, never the others
or the server. After a failure it stops and hands the rest of its claim back: the
endpoint is down, the backoff decides when to try again (server/webhooks/sender.py).
"""

import asyncio
import contextlib
import logging
import time
from datetime import timedelta

import httpx
import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncEngine

from server.db.feed_tables import webhooks
from server.db.tables import documents
from server.webhooks.config import WebhookConfig
from server.webhooks.outbox import enqueue
from server.webhooks.sender import Claimed, claim, hooks_with_due, prune, send, settle

log = logging.getLogger(__name__)
# Pages of the feed one webhook takes in a round, so that one far behind does not keep
# the others waiting.
PAGES_PER_ROUND = 10
# Delivered deliveries are kept this long (to show), then pruned once an hour.
KEEP_DELIVERED = timedelta(days=7)
PRUNE_EVERY = 3600.0


class WebhookDispatcher:
    def __init__(self, engine: AsyncEngine, config: WebhookConfig) -> None:
        self._engine = engine
        self._config = config
        self._senders: dict[str, asyncio.Task[None]] = {}
        self._pruned_at = 0.0
        self._stopping = asyncio.Event()

    def stop(self) -> None:
        """End `run` after the current round: a round cancelled in the middle of a query
        can leave its database connection unable to close."""
        self._stopping.set()

    async def run(self) -> None:
        timeout = httpx.Timeout(self._config.timeout_seconds)
        async with httpx.AsyncClient(timeout=timeout) as client:
            try:
                while not self._stopping.is_set():
                    try:
                        await self.step(client)
                    except Exception:  # a database hiccup must not end deliveries for good
                        log.exception("webhook round failed; trying again")
                    with contextlib.suppress(TimeoutError):
                        await asyncio.wait_for(self._stopping.wait(), self._config.poll_seconds)
            finally:
                for task in self._senders.values():
                    task.cancel()
                for task in self._senders.values():
                    with contextlib.suppress(asyncio.CancelledError):
                        await task

    async def step(self, client: httpx.AsyncClient) -> None:
        if time.monotonic() - self._pruned_at > PRUNE_EVERY:
            await prune(self._engine, KEEP_DELIVERED)
            self._pruned_at = time.monotonic()
        for hook_id in await self._behind():
            for _ in range(PAGES_PER_ROUND):
                if not await enqueue(self._engine, hook_id):
                    break
        self._senders = {h: t for h, t in self._senders.items() if not t.done()}
        for hook_id in await hooks_with_due(self._engine):
            if hook_id in self._senders:
                continue
            claimed = await claim(self._engine, hook_id, self._config)
            if claimed:
                task = asyncio.create_task(
                    self._send_all(client, claimed), name=f"webhook {hook_id}"
                )
                self._senders[hook_id] = task

    async def _behind(self) -> list[str]:
        """Webhooks whose cursor is behind the newest change (a read, no write lock)."""
        head = sa.select(sa.func.coalesce(sa.func.max(documents.c.head_seq), 0)).scalar_subquery()
        async with self._engine.connect() as connection:
            query = sa.select(webhooks.c.id).where(webhooks.c.feed_seq < head)
            return list((await connection.execute(query)).scalars())

    async def _send_all(self, client: httpx.AsyncClient, claimed: list[Claimed]) -> None:
        try:
            for index, delivery in enumerate(claimed):
                outcome = await send(client, delivery)
                unsent = [] if outcome.ok else claimed[index + 1 :]
                await settle(self._engine, delivery, outcome, self._config, unsent)
                if not outcome.ok:
                    return
        except Exception:
            log.exception("webhook sender failed; its claim lapses and is retried")
