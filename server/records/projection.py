"""The SQL projection: merged record documents decoded into tables coordinators read.

Incremental (documents whose head moved past `projected_seq`), idempotent (a document's
rows are replaced as a whole), safe with several processes (each document's `documents`
row is locked while its rows are replaced, and an older decoding never overwrites a newer
one), and resumable (a crash leaves `projected_seq` behind, so the sweep picks it up).

No document stops it: the log is read through the store port and decoded by
`server.records.stored.decode_stored`, which flags a document it cannot read instead of raising,
and a batch the database refuses is written again one document at a time, so one bad
document never holds back the others nor leaves the change feed waiting on it.
"""

import asyncio
import logging
import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from schemas.decode import Decoded
from server.db import record_tables
from server.db.engine import write_transaction
from server.db.record_tables import validation_issues
from server.db.tables import documents, metadata
from server.db.update_store import SqlUpdateStore
from server.records.stored import UNREADABLE_PATH, UNSTORABLE, decode_stored, flagged
from sync.ports import UpdateStore
from sync.shape import ShapeLimits

log = logging.getLogger(__name__)
# A document decoded as of a sequence of the log.
Decoding = tuple[int, Decoded]
# Documents decoded between two turns of the event loop (decoding holds the GIL).
YIELD_EVERY = 20


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


@dataclass(frozen=True, slots=True)
class Flagged:
    """Documents projected with the `document` issue: they could not be read."""

    documents: int
    # a few of them, with the issue's message
    examples: dict[str, str]


class Projector:
    def __init__(
        self,
        database: AsyncEngine,
        store: UpdateStore | None = None,
        limits: ShapeLimits | None = None,
    ) -> None:
        self._database = database
        # Not the engine's cache: a catch-up would churn it.
        self._store: UpdateStore = store or SqlUpdateStore(database)
        self.limits = limits or ShapeLimits()
        self._tables = {table.name: table for table in _record_tables()}

    def decode(self, doc_id: str, updates: Sequence[bytes], kind: str, grid: str) -> Decoded:
        """A document's rows from its stored updates; flagged if it cannot be read."""
        return decode_stored(doc_id, updates, kind, grid, self.limits)

    async def project(self, doc_ids: Iterable[str]) -> int:
        """Bring these documents' rows up to date from the log; returns how many were
        rewritten. One read loads every document's updates (one per document is what
        makes it slow)."""
        ids = sorted(set(doc_ids))
        if not ids:
            return 0
        logs = await self._store.updates_of(ids)
        heads = await self._store.heads(ids)  # kind and grid never change: read after is fine
        decoded: dict[str, Decoding] = {}
        for index, doc_id in enumerate(ids, 1):
            head, rows = heads.get(doc_id), logs.get(doc_id, [])
            if head is None:
                continue  # no such document
            if index % YIELD_EVERY == 0:
                await asyncio.sleep(0)  # let the server's requests in
            seq = rows[-1].seq if rows else head.head_seq
            record = self.decode(doc_id, [row.data for row in rows], head.kind, head.grid)
            decoded[doc_id] = (seq, record)
        return await self.write(decoded)

    async def write(self, decoded: dict[str, "Decoding"], *, force: bool = False) -> int:
        """Replace the rows of documents decoded as of a sequence, unless newer rows are
        already there; returns how many were rewritten.

        `force` (the nightly verify's repair) rewrites them whatever `projected_seq` claims,
        but only the documents whose log is still at that sequence.

        Rows the database refuses (not a database that is down) are written again one
        document at a time; a document still refused is written flagged, with only its
        main row, so that it does not hold back the others or stay behind for ever.
        """
        if not decoded:
            return 0
        try:
            return await self._write(decoded, force=force)
        except Exception as error:
            if not _refused_rows(error):
                raise
            log.warning("projecting %d documents failed; one at a time", len(decoded))
        written = 0
        for doc_id, (seq, record) in decoded.items():
            try:
                written += await self._write({doc_id: (seq, record)}, force=force)
            except Exception as error:
                if not _refused_rows(error):
                    raise
                log.exception("document %s: its rows are refused; flagged instead", doc_id)
                kind = record.kind.value if record.kind else ""
                problem = type(error).__name__
                alone = flagged(doc_id, None, kind, record.grid or "", problem, UNSTORABLE)
                written += await self._write({doc_id: (seq, alone)}, force=force)
        return written

    async def _write(self, decoded: dict[str, "Decoding"], *, force: bool) -> int:
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

    async def flagged(self, examples: int = 5) -> Flagged:
        """How many documents are projected as unreadable, and a few of them."""
        is_flag = validation_issues.c.path == UNREADABLE_PATH
        async with self._database.connect() as connection:
            count = await connection.scalar(
                sa.select(sa.func.count(sa.distinct(validation_issues.c.doc_id))).where(is_flag)
            )
            some = await connection.execute(
                sa.select(validation_issues.c.doc_id, validation_issues.c.message)
                .where(is_flag)
                .order_by(validation_issues.c.doc_id)
                .limit(examples)
            )
            return Flagged(count or 0, {row.doc_id: row.message for row in some})


def _refused_rows(error: Exception) -> bool:
    """The database refused some rows (a value it cannot store), rather than being
    unreachable or busy (then the whole batch is retried later)."""
    unreachable = (sa.exc.OperationalError, sa.exc.InterfaceError)
    return isinstance(error, sa.exc.StatementError) and not isinstance(error, unreachable)


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
        """Catch up at startup (a crash may have left documents behind), then serve. Any
        failure, the startup catch-up's included, is retried: the worker never stops."""
        caught_up = False
        while True:
            try:
                if not caught_up:
                    await self.projector.catch_up(self._batch)
                    caught_up = True
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
