"""Turning the change feed into deliveries, webhook by webhook.

Each webhook keeps its own feed cursor (`webhooks.feed_seq`). A step reads the next page
of changed documents after it, inserts one delivery per event and moves the cursor, all
in one transaction: a crash before the commit leaves the cursor where it was (the page is
read again), and the unique (webhook, event) pair keeps a page read twice from becoming
two deliveries. The feed never skips a change (server/feed/pages.py), so neither do
webhooks.

Review decisions are read from the records' review notes (`notes` entries of kind
`review`, which the server appends with every decision, server/review/edits.py): the feed
gives a record at its latest state, so a record approved and then sent back before the
next step shows both notes, where its `review` map would only show the last decision.
"""

import uuid
from datetime import UTC, datetime
from typing import Any

import msgspec
import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from schemas.review import ReviewAction
from server.db.engine import write_transaction
from server.db.feed_tables import webhook_deliveries, webhooks
from server.db.record_tables import record_notes
from server.feed.pages import Change, changed_after, encode_cursor

PAGE = 200
# Deliveries of one change rank below this: its position is head_seq × EVENTS_PER_CHANGE.
EVENTS_PER_CHANGE = 1000
_ACTIONS = frozenset(action.value for action in ReviewAction)


async def enqueue(engine: AsyncEngine, hook_id: str) -> bool:
    """One page of the feed into this webhook's deliveries; whether more is ready."""
    async with write_transaction(engine) as connection:
        lock = sa.select(webhooks).where(webhooks.c.id == hook_id)
        if connection.dialect.name == "postgresql":  # SQLite's write lock is held already
            lock = lock.with_for_update()
        hook = (await connection.execute(lock)).first()
        if hook is None:
            return False
        page = await changed_after(connection, hook.feed_seq, PAGE, None)
        if not page.changes:
            return False
        now = datetime.now(UTC)
        rows = []
        if "record.changed" in hook.events:
            rows += [_changed(hook_id, change, now) for change in page.changes]
        if "record.reviewed" in hook.events:
            rows += await _reviewed(connection, hook_id, hook.created_at, page.changes, now)
        if rows:
            await connection.execute(_insert_new(connection.dialect.name), rows)
        await connection.execute(
            webhooks.update().where(webhooks.c.id == hook_id).values(feed_seq=page.changes[-1].seq)
        )
        return page.more


def _delivery(
    hook_id: str, event: str, event_id: str, position: int, data: dict[str, Any], now: datetime
) -> dict[str, Any]:
    delivery_id = str(uuid.uuid4())
    body = {"id": delivery_id, "event": event, "created_at": now.isoformat(), "data": data}
    return {
        "id": delivery_id,
        "webhook_id": hook_id,
        "event_id": event_id,
        "event": event,
        "position": position,
        "body": msgspec.json.encode(body).decode(),
        "status": "pending",
        "attempts": 0,
        "next_attempt_at": now,
        "created_at": now,
    }


def _changed(hook_id: str, change: Change, now: datetime) -> dict[str, Any]:
    # Identifiers only: the receiver reads the record through the feed or the read API with
    # a machine token of its own scope, so a webhook URL never receives residents' data.
    data = {
        "doc_id": change.doc_id,
        "kind": change.kind,
        "grid": change.grid,
        "seq": change.seq,
        "cursor": encode_cursor(change.seq - 1),
    }
    event_id = f"record:{change.doc_id}:{change.seq}"
    position = change.seq * EVENTS_PER_CHANGE
    return _delivery(hook_id, "record.changed", event_id, position, data, now)


async def _reviewed(
    connection: AsyncConnection,
    hook_id: str,
    since: datetime,
    changes: list[Change],
    now: datetime,
) -> list[dict[str, Any]]:
    """A delivery per review note of these records made since the webhook exists (the
    insert skips those already enqueued)."""
    by_doc = {change.doc_id: change for change in changes}
    notes = await connection.execute(
        sa.select(record_notes)
        .where(record_notes.c.doc_id.in_(list(by_doc)), record_notes.c.kind == "review")
        .order_by(record_notes.c.doc_id, record_notes.c.at, record_notes.c.position)
    )
    rows = []
    rank: dict[str, int] = {}
    for note in notes:
        action = note.extra.get("action") if isinstance(note.extra, dict) else None
        if action not in _ACTIONS or note.at is None or note.at < since or not note.note_id:
            continue
        change = by_doc[note.doc_id]
        data = {
            "doc_id": change.doc_id,
            "kind": change.kind,
            "grid": change.grid,
            "action": action,
            "by": note.by,
            "at": note.at.isoformat(),
            "note_id": note.note_id,
        }
        event_id = f"review:{change.doc_id}:{note.note_id}"
        # In the order they were decided, after the change's own event.
        rank[change.doc_id] = min(rank.get(change.doc_id, 0) + 1, EVENTS_PER_CHANGE - 1)
        position = change.seq * EVENTS_PER_CHANGE + rank[change.doc_id]
        rows.append(_delivery(hook_id, "record.reviewed", event_id, position, data, now))
    return rows


def _insert_new(dialect: str) -> postgresql.Insert | sqlite.Insert:
    statement = (postgresql.insert if dialect == "postgresql" else sqlite.insert)(
        webhook_deliveries
    )
    return statement.on_conflict_do_nothing(
        index_elements=[webhook_deliveries.c.webhook_id, webhook_deliveries.c.event_id]
    )
