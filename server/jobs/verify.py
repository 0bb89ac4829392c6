"""Rebuild every record from its document, compare with its SQL rows, repair drift.

Invariant 3 of the design: the SQL projection equals the decoded documents. Documents are
checked a page at a time, in id order: the page's `documents` rows, logs and projection
rows are read in one snapshot (one read transaction; REPEATABLE READ on PostgreSQL), so a
push landing meanwhile cannot make a correct document look wrong. A document whose rows
differ (or whose `projected_seq` claims a head it does not reflect) is rewritten through
the projector, forced, and only if its log is still at the sequence checked; one whose
head moved in between is checked again. Documents merely behind (`projected_seq <
head_seq`) are the projection worker's backlog: they are projected, not counted as drift.
Finally, rows of documents that no longer exist are deleted. Nothing is remembered between
runs: a killed run has repaired what it repaired, and the next one checks everything again.

Documents are decoded as the projection decodes them (`server.records.stored.decode_stored`): one
that cannot be read (content an older server stored unchecked) is counted and listed as
unreadable, and compared with its flagged rows like any other, so it is drift only if its
rows are not the flagged ones, never every night.
"""

import asyncio
from dataclasses import dataclass, field
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncEngine

from schemas.decode import Decoded
from server.db.engine import write_transaction
from server.db.tables import documents, updates
from server.jobs.base import Figures, JobContext
from server.jobs.drift import RowDrift, TableDrift, differences
from server.records.projection import Decoding, _record_tables
from server.records.stored import is_flagged

PAGE = 200
EXAMPLES = 20  # documents repaired, listed with what differed
RECHECKS = 3  # times a document whose head keeps moving is checked again
YIELD_EVERY = 20  # documents decoded between two turns of the event loop


@dataclass(frozen=True, slots=True)
class _Checked:
    doc_id: str
    kind: str
    grid: str
    head_seq: int
    projected_seq: int
    # table → its rows of this document, as stored
    rows: dict[str, list[dict[str, Any]]]
    log: list[bytes]


@dataclass(slots=True)
class Verified:
    documents_checked: int = 0
    documents_repaired: int = 0
    # behind the log (the worker's backlog): projected, not drift
    documents_caught_up: int = 0
    # changed while being checked, and still changing after the rechecks
    documents_moving: int = 0
    projected_seq_wrong: int = 0
    tables: dict[str, TableDrift] = field(default_factory=dict)
    examples: list[dict[str, Any]] = field(default_factory=list)
    # documents that cannot be read (projected flagged) → why
    unreadable: dict[str, str] = field(default_factory=dict)

    def figures(self) -> Figures:
        return {
            "documents_checked": self.documents_checked,
            "documents_repaired": self.documents_repaired,
            "documents_caught_up": self.documents_caught_up,
            "documents_moving": self.documents_moving,
            "documents_unreadable": len(self.unreadable),
            "projected_seq_wrong": self.projected_seq_wrong,
            "tables": {name: drift.figures() for name, drift in sorted(self.tables.items())},
            "repaired": self.examples,
            "unreadable": [
                {"doc_id": doc_id, "problem": problem}
                for doc_id, problem in sorted(self.unreadable.items())[:EXAMPLES]
            ],
        }

    def note(self, doc_id: str, what: dict[str, Any]) -> None:
        if len(self.examples) < EXAMPLES:
            self.examples.append({"doc_id": doc_id, **what})


class VerifyJob:
    name = "verify"
    description = "Rebuild every record from its document, compare with its SQL rows, repair drift."

    async def run(self, context: JobContext) -> Figures:
        tables = _record_tables()
        verified = Verified()
        async with context.database.connect() as connection:
            total = (
                await connection.execute(sa.select(sa.func.count()).select_from(documents))
            ).scalar_one()
        after = ""
        while page := await _read(context.database, tables, documents.c.id > after):
            after = page[-1].doc_id
            await _check(context, tables, page, verified)
            verified.documents_checked += len(page)
            note = f"{verified.documents_repaired} repaired"
            context.progress.update(verified.documents_checked, total, note)
        await _delete_orphans(context.database, tables, verified)
        return verified.figures()


async def _check(
    context: JobContext, tables: list[sa.Table], page: list[_Checked], verified: Verified
) -> None:
    for attempt in range(RECHECKS + 1):
        moved = await _check_once(context, tables, page, verified)
        if not moved:
            return
        if attempt < RECHECKS:
            page = await _read(context.database, tables, documents.c.id.in_(moved))
    verified.documents_moving += len(moved)


async def _check_once(
    context: JobContext, tables: list[sa.Table], page: list[_Checked], verified: Verified
) -> list[str]:
    """Repair what differs in `page`; returns the documents that moved meanwhile."""
    behind: dict[str, Decoding] = {}
    repairs: dict[str, Decoding] = {}
    found: dict[str, dict[str, RowDrift]] = {}
    for index, checked in enumerate(page, 1):
        if index % YIELD_EVERY == 0:
            await asyncio.sleep(0)  # decoding holds the GIL: let the server's requests in
        decoded = context.projector.decode(checked.doc_id, checked.log, checked.kind, checked.grid)
        if is_flagged(decoded):
            verified.unreadable[checked.doc_id] = decoded.issues[0].message
        if checked.projected_seq < checked.head_seq:
            # The worker's backlog, decoded from the log read with the rest: projected.
            behind[checked.doc_id] = (checked.head_seq, decoded)
            continue
        drift = _compare(tables, checked, decoded)
        if drift or checked.projected_seq != checked.head_seq:
            repairs[checked.doc_id] = (checked.head_seq, decoded)
            found[checked.doc_id] = drift
    if behind:
        verified.documents_caught_up += await context.projector.write(behind)
    if not repairs:
        return []
    written = await context.projector.write(repairs, force=True)
    moved = set() if written == len(repairs) else await _not_rewritten(context.database, repairs)
    claimed = {checked.doc_id: checked.projected_seq for checked in page}
    for doc_id, drift in found.items():
        if doc_id in moved:
            continue
        verified.documents_repaired += 1
        shown: dict[str, Any] = {name: rows.shown() for name, rows in drift.items()}
        if claimed[doc_id] != repairs[doc_id][0]:
            verified.projected_seq_wrong += 1
            shown["projected_seq"] = {"claimed": claimed[doc_id], "head": repairs[doc_id][0]}
        for name, rows in drift.items():
            verified.tables.setdefault(name, TableDrift()).add(rows)
        verified.note(doc_id, shown)
    return sorted(moved)


def _compare(tables: list[sa.Table], checked: _Checked, decoded: Decoded) -> dict[str, RowDrift]:
    """How the document's stored rows differ from its decoding, per table."""
    expected = decoded.tables()
    drift = {
        table.name: differences(table, expected.get(table.name, []), checked.rows[table.name])
        for table in tables
    }
    return {name: rows for name, rows in drift.items() if rows}


async def _not_rewritten(database: AsyncEngine, repairs: dict[str, Decoding]) -> set[str]:
    """Of the documents given to a forced write, those it did not rewrite (their head had
    moved): their `projected_seq` is not the sequence they were decoded at."""
    query = sa.select(documents.c.id, documents.c.projected_seq).where(
        documents.c.id.in_(list(repairs))
    )
    async with database.connect() as connection:
        now = {row.id: row.projected_seq for row in await connection.execute(query)}
    return {doc_id for doc_id, (seq, _) in repairs.items() if now.get(doc_id) != seq}


async def _read(
    database: AsyncEngine, tables: list[sa.Table], which: sa.ColumnElement[bool]
) -> list[_Checked]:
    """Documents (a page of them), their logs and their projection rows, in one snapshot."""
    async with database.connect() as connection:
        if connection.dialect.name == "postgresql":  # SQLite's read transaction is a snapshot
            await connection.execution_options(isolation_level="REPEATABLE READ")
        async with connection.begin():
            heads = (
                await connection.execute(
                    sa.select(
                        documents.c.id,
                        documents.c.kind,
                        documents.c.grid,
                        documents.c.head_seq,
                        documents.c.projected_seq,
                    )
                    .where(which)
                    .order_by(documents.c.id)
                    .limit(PAGE)
                )
            ).all()
            ids = [row.id for row in heads]
            if not ids:
                return []
            logs: dict[str, list[bytes]] = {doc_id: [] for doc_id in ids}
            for doc_id, data in await connection.execute(
                sa.select(updates.c.doc_id, updates.c.data)
                .where(updates.c.doc_id.in_(ids))
                .order_by(updates.c.doc_id, updates.c.seq)
            ):
                logs[doc_id].append(data)
            rows: dict[str, dict[str, list[dict[str, Any]]]] = {
                doc_id: {table.name: [] for table in tables} for doc_id in ids
            }
            for table in tables:
                for row in await connection.execute(
                    sa.select(table).where(table.c.doc_id.in_(ids))
                ):
                    rows[row.doc_id][table.name].append(row._asdict())
    return [
        _Checked(
            row.id, row.kind, row.grid, row.head_seq, row.projected_seq, rows[row.id], logs[row.id]
        )
        for row in heads
    ]


async def _delete_orphans(
    database: AsyncEngine, tables: list[sa.Table], verified: Verified
) -> None:
    """Rows of documents that do not exist (any more)."""
    for table in tables:
        gone = ~sa.exists().where(documents.c.id == table.c.doc_id)
        async with write_transaction(database) as connection:
            deleted = await connection.execute(table.delete().where(gone).returning(table.c.doc_id))
            doc_ids = list(deleted.scalars())
        if doc_ids:
            verified.tables.setdefault(table.name, TableDrift()).orphans += len(doc_ids)
        for doc_id in sorted(set(doc_ids)):
            verified.note(doc_id, {table.name: "rows of a document that does not exist"})


JOB = VerifyJob()
