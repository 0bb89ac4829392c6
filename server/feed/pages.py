"""Pages of changed documents, in the order their changes committed.

Appends take their sequence numbers from `seq_counter` as their first statement and hold
its row lock to commit (server/db/update_store.py), so they commit in sequence order and
set `documents.head_seq` in the same transaction: whatever a reader sees is a prefix of
the log. "Documents with `head_seq` past the cursor, by `head_seq`" therefore never skips
a change; a document changed again later comes back at its new head.

Content comes from the SQL projection, which lags the log by seconds. A page ends at the
first document whose projection is behind its head: the cursor never passes a document
that was not served at its head (`waiting` tells the consumer to come back shortly).
"""

import base64
import binascii
from collections.abc import Collection
from dataclasses import dataclass

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection

from server.db.tables import documents
from server.errors import ClientError

_PREFIX = "c1."


def encode_cursor(seq: int) -> str:
    return base64.urlsafe_b64encode(f"{_PREFIX}{seq}".encode()).decode().rstrip("=")


def decode_cursor(token: str | None) -> int:
    """The head_seq a cursor stands for; no cursor is the beginning."""
    if not token:
        return 0
    try:
        raw = base64.urlsafe_b64decode(token + "=" * (-len(token) % 4)).decode()
        if raw.startswith(_PREFIX) and raw[len(_PREFIX) :].isdigit():
            return int(raw[len(_PREFIX) :])
    except (binascii.Error, UnicodeDecodeError, ValueError):
        pass
    raise ClientError(400, "malformed_cursor", "`since` is not a cursor this feed gave")


@dataclass(frozen=True, slots=True)
class Change:
    doc_id: str
    kind: str
    grid: str
    seq: int


@dataclass(frozen=True, slots=True)
class ChangePage:
    changes: list[Change]
    # More changes are ready past the last one.
    more: bool
    # A change past the last one is still being projected: ask again in a few seconds.
    waiting: bool


async def changed_after(
    connection: AsyncConnection, since: int, limit: int, grids: Collection[str] | None
) -> ChangePage:
    """Up to `limit` documents changed after `since`, of `grids` (None: every grid)."""
    query = (
        sa.select(
            documents.c.id,
            documents.c.kind,
            documents.c.grid,
            documents.c.head_seq,
            documents.c.projected_seq,
        )
        .where(documents.c.head_seq > since)
        .order_by(documents.c.head_seq)
        .limit(limit + 1)
    )
    if grids is not None:
        if not grids:
            return ChangePage([], more=False, waiting=False)
        query = query.where(documents.c.grid.in_(sorted(grids)))
    rows = (await connection.execute(query)).all()
    changes: list[Change] = []
    for row in rows[:limit]:
        if row.projected_seq < row.head_seq:
            return ChangePage(changes, more=False, waiting=True)
        changes.append(Change(row.id, row.kind, row.grid, row.head_seq))
    return ChangePage(changes, more=len(rows) > limit, waiting=False)
