"""Squash each document's update log into one snapshot past a bound, or idle for a day.

Candidates come from `documents` alone (`update_count`, `byte_size`, `updated_at`), a page
at a time in id order. Their logs are read and squashed in batches bounded by bytes (pycrdt
holds the GIL: the event loop gets a turn between batches), and each batch is stored in one
transaction that replaces exactly the rows it read: an update pushed meanwhile stays beside
the snapshot, and a document the push path compacted meanwhile (in any process) is skipped.
Nothing is remembered between runs: a killed run leaves each document squashed or as it was,
and the next run finds what is still past a bound.
"""

import asyncio
from dataclasses import asdict, dataclass
from datetime import datetime, timedelta

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncEngine

from server.db.tables import documents
from server.jobs.base import Figures, JobContext
from server.settings import NightlySettings
from sync.engine import squash
from sync.limits import Limits
from sync.ports import Snapshot, UpdateStore

PAGE = 500  # candidates per query
BATCH_BYTES = 512 << 10  # log bytes squashed between two turns of the event loop
BATCH_DOCUMENTS = 100


@dataclass(slots=True)
class Compacted:
    candidates: int = 0
    documents_compacted: int = 0
    rows_before: int = 0
    rows_after: int = 0
    bytes_before: int = 0
    bytes_after: int = 0
    # Changed since it was read (compacted or appended to by someone else), or a row that
    # would not integrate: left as it was.
    skipped: int = 0


@dataclass(frozen=True, slots=True)
class _Candidate:
    doc_id: str
    byte_size: int


class CompactJob:
    name = "compact"
    description = "Squash update logs into one snapshot past a bound, or idle for a day."

    async def run(self, context: JobContext) -> Figures:
        due = _due(context.settings.nightly, context.now)
        store = context.sync.store
        figures = Compacted(candidates=await _count(context.database, due))
        done, after = 0, ""
        while page := await _candidates(context.database, due, after):
            after = page[-1].doc_id
            for batch in _batches(page):
                await _compact(store, batch, context.settings.limits, figures)
                done += len(batch)
                note = f"{figures.documents_compacted} compacted"
                context.progress.update(done, figures.candidates, note)
                await asyncio.sleep(0)
        return asdict(figures)


def _due(nightly: NightlySettings, now: datetime) -> sa.ColumnElement[bool]:
    idle_since = now - timedelta(hours=nightly.compact_idle_hours)
    return sa.and_(
        documents.c.update_count > 1,
        sa.or_(
            documents.c.update_count > nightly.compact_rows,
            documents.c.byte_size > nightly.compact_bytes,
            documents.c.updated_at < idle_since,
        ),
    )


async def _count(database: AsyncEngine, due: sa.ColumnElement[bool]) -> int:
    async with database.connect() as connection:
        count: int = (
            await connection.execute(sa.select(sa.func.count()).select_from(documents).where(due))
        ).scalar_one()
        return count


async def _candidates(
    database: AsyncEngine, due: sa.ColumnElement[bool], after: str
) -> list[_Candidate]:
    # Keyset pages over the primary key: each page is one index range, whatever the size.
    query = (
        sa.select(documents.c.id, documents.c.byte_size)
        .where(documents.c.id > after, due)
        .order_by(documents.c.id)
        .limit(PAGE)
    )
    async with database.connect() as connection:
        return [_Candidate(*row) for row in await connection.execute(query)]


def _batches(page: list[_Candidate]) -> list[list[_Candidate]]:
    """Runs of candidates holding about `BATCH_BYTES` of log (a bigger one alone)."""
    batches: list[list[_Candidate]] = [[]]
    size = 0
    for candidate in page:
        full = size + candidate.byte_size > BATCH_BYTES or len(batches[-1]) >= BATCH_DOCUMENTS
        if batches[-1] and full:
            batches.append([])
            size = 0
        batches[-1].append(candidate)
        size += candidate.byte_size
    return batches


async def _compact(
    store: UpdateStore, batch: list[_Candidate], limits: Limits, figures: Compacted
) -> None:
    logs = await store.updates_of([candidate.doc_id for candidate in batch])
    snapshots: list[Snapshot] = []
    for doc_id, rows in logs.items():
        if len(rows) < 2:
            figures.skipped += 1  # compacted by the push path since the page was read
            continue
        data = squash([row.data for row in rows], limits)
        if data is None:
            figures.skipped += 1
            continue
        snapshots.append(Snapshot(doc_id, [row.seq for row in rows], data))
    replaced = await store.replace_with_snapshots(snapshots)
    figures.skipped += len(snapshots) - len(replaced)
    for snapshot in snapshots:
        if snapshot.doc_id in replaced:
            rows = logs[snapshot.doc_id]
            figures.documents_compacted += 1
            figures.rows_before += len(rows)
            figures.bytes_before += sum(len(row.data) for row in rows)
            figures.rows_after += 1
            figures.bytes_after += len(snapshot.data)


JOB = CompactJob()
