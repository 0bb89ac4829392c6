"""The SQL projection: merged record documents decoded into tables coordinators read.

Incremental (documents whose head moved past `projected_seq`), idempotent (a document's
rows are replaced as a whole), safe with several processes (each document's `documents`
row is locked while its rows are replaced, and an older decoding never overwrites a newer
one), and resumable (a crash leaves `projected_seq` behind, so the sweep picks it up).
"""

import asyncio
import logging
import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from pycrdt import Doc
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from schemas.decode import Decoded, decode
from server.db import record_tables
from server.db.engine import write_transaction
from server.db.tables import documents, metadata, updates
from sync.layout import to_plain

log = logging.getLogger(__name__)
# A document decoded as of a sequence of the log.
Decoding = tuple[int, Decoded]


def _record_tables() -> list[sa.Table]:
    """The tables of `server/db/record_tables.py`, parents first: a record's rows, keyed by
    `doc_id`, which projection replaces whole. Tables elsewhere that name a record (overdue
    flags, webhook deliveries) are never touched by it."""
    declared = {value for value in vars(record_tables).values() if isinstance(value, sa.Table)}
    return [table for table in metadata.sorted_tables if table in declared]


@dataclass(frozen=True, slots=True)
class Lag:
    pending_documents: int
    oldest_pending_since: datetime | None


class Projector:
    def __init__(self, database: AsyncEngine) -> None:
        self._database = database
        self._tables = {table.name: table for table in _record_tables()}

    async def project(self, doc_ids: Iterable[str]) -> int:
        """Bring these documents' rows up to date from the log; returns how many were
        rewritten. One query loads every document's updates (not the engine's cache: a
        catch-up would churn it, and one query per document is what makes it slow)."""
        docs: dict[str, tuple[int, Doc[Any]]] = {}
        async with self._database.connect() as connection:
            rows = await connection.execute(
                sa.select(updates.c.doc_id, updates.c.seq, updates.c.data)
                .where(updates.c.doc_id.in_(sorted(set(doc_ids))))
                .order_by(updates.c.doc_id, updates.c.seq)
            )
            for doc_id, seq, data in rows:
                doc = docs[doc_id][1] if doc_id in docs else Doc()
                doc.apply_update(data)
                docs[doc_id] = (seq, doc)
        return await self.write(
            {d: (seq, decode(d, to_plain(doc))) for d, (seq, doc) in docs.items()}
        )

    async def write(self, decoded: dict[str, "Decoding"], *, force: bool = False) -> int:
        """Replace the rows of documents decoded as of a sequence, unless newer rows are
        already there; returns how many were rewritten.

        `force` (the nightly verify's repair) rewrites them whatever `projected_seq` claims,
        but only the documents whose log is still at that sequence.
        """
        if not decoded:
            return 0
        async with write_transaction(self._database) as connection:
            current = await _lock_projected_seqs(connection, list(decoded))
            if force:
                fresh = {d: v for d, v in decoded.items() if current.get(d, (0, 0))[1] == v[0]}
            else:
                fresh = {d: v for d, v in decoded.items() if current.get(d, (0, 0))[0] < v[0]}
            if fresh:
                await self._replace_rows(connection, fresh)
        return len(fresh)

    async def _replace_rows(self, connection: AsyncConnection, fresh: dict[str, Decoding]) -> None:
        doc_ids = list(fresh)
        for table in self._tables.values():
            await connection.execute(table.delete().where(table.c.doc_id.in_(doc_ids)))
        rows: dict[str, list[dict[str, Any]]] = {}
        for _, record in fresh.values():
            for name, table_rows in record.tables().items():
                rows.setdefault(name, []).extend(table_rows)
        for name in self._tables:  # parents before children
            if rows.get(name):
                await connection.execute(self._tables[name].insert(), rows[name])
        await connection.execute(
            documents.update()
            .where(documents.c.id == sa.bindparam("doc"))
            .values(projected_seq=sa.bindparam("seq")),
            [{"doc": doc_id, "seq": seq} for doc_id, (seq, _) in fresh.items()],
        )

    async def pending(self, limit: int) -> list[str]:
        async with self._database.connect() as connection:
            result = await connection.execute(
                sa.select(documents.c.id)
                .where(documents.c.head_seq > documents.c.projected_seq)
                .order_by(documents.c.head_seq)
                .limit(limit)
            )
            return list(result.scalars())

    async def catch_up(self, batch: int = 200) -> int:
        """Project everything behind; returns how many documents were rewritten."""
        total = 0
        while doc_ids := await self.pending(batch):
            projected = await self.project(doc_ids)
            total += projected
            if projected == 0 and len(doc_ids) < batch:
                break  # what is left is being projected by another process right now
        return total

    async def lag(self) -> Lag:
        behind = documents.c.head_seq > documents.c.projected_seq
        async with self._database.connect() as connection:
            row = (
                await connection.execute(
                    sa.select(sa.func.count(), sa.func.min(documents.c.updated_at)).where(behind)
                )
            ).one()
        return Lag(pending_documents=row[0], oldest_pending_since=row[1])


async def _lock_projected_seqs(
    connection: AsyncConnection, doc_ids: Sequence[str]
) -> dict[str, tuple[int, int]]:
    """Each document's `(projected_seq, head_seq)`, its row locked until commit."""
    query = sa.select(documents.c.id, documents.c.projected_seq, documents.c.head_seq).where(
        documents.c.id.in_(doc_ids)
    )
    if connection.dialect.name == "postgresql":  # SQLite's write lock already serialises
        query = query.order_by(documents.c.id).with_for_update()
    return {row.id: (row.projected_seq, row.head_seq) for row in await connection.execute(query)}


class ProjectionWorker:
    """Projects pushed documents after the answer, in batches, one task per process; and
    sweeps for anything left behind (a crash, another process) every `interval`.

    Pushes come first: while they keep arriving (an evening burst) projection waits for a
    `quiet` moment, but never holds a document back longer than `max_delay`.
    """

    def __init__(
        self,
        projector: Projector,
        interval: float = 5.0,
        batch: int = 200,
        quiet: float = 0.3,
        max_delay: float = 10.0,
    ) -> None:
        self.projector = projector
        self._interval = interval
        self._batch = batch
        self._quiet = quiet
        self._max_delay = max_delay
        self._pending: dict[str, Decoding] = {}
        self._wake = asyncio.Event()
        self._last_notified = self._waiting_since = 0.0

    def notify(self, decoded: dict[str, Decoding]) -> None:
        """Documents just pushed, already decoded (the push had them loaded)."""
        now = time.monotonic()
        if not self._pending:
            self._waiting_since = now
        self._last_notified = now
        for doc_id, (seq, record) in decoded.items():
            if doc_id not in self._pending or self._pending[doc_id][0] <= seq:
                self._pending[doc_id] = (seq, record)
        self._wake.set()

    async def _settle(self) -> None:
        """Wait while pushes keep coming, up to `max_delay` after the oldest pending one."""
        while time.monotonic() - self._last_notified < self._quiet:
            if time.monotonic() - self._waiting_since >= self._max_delay:
                return
            await asyncio.sleep(self._quiet / 3)

    async def run(self) -> None:
        """Catch up at startup (a crash may have left documents behind), then serve."""
        await self.projector.catch_up(self._batch)
        while True:
            try:
                await self._step()
            except asyncio.CancelledError:
                raise
            except Exception:  # the next sweep retries; the documents stay behind, not lost
                log.exception("projection failed; retrying at the next sweep")
                await asyncio.sleep(self._interval)

    async def _step(self) -> None:
        if not self._pending:
            try:
                await asyncio.wait_for(self._wake.wait(), self._interval)
            except TimeoutError:
                await self.projector.catch_up(self._batch)
                return
        self._wake.clear()
        await self._settle()
        batch = {d: self._pending.pop(d) for d in sorted(self._pending)[: self._batch]}
        self._waiting_since = time.monotonic()
        try:
            await self.projector.write(batch)
        except Exception:
            self.notify(batch)
            raise
