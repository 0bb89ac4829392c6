"""The update log in SQL: the `UpdateStore` port over SQLite or PostgreSQL."""

from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, TypeVar

from sqlalchemy import (
    ColumnElement,
    Row,
    Select,
    bindparam,
    case,
    func,
    insert,
    null,
    select,
    union_all,
    update,
)
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from server.db.engine import write_transaction
from server.db.tables import documents, seq_counter, updates
from sync.ports import DocHead, NewUpdate, PullBatch, Snapshot, StoredUpdate

_Item = TypeVar("_Item")

# Bound parameters per statement stay well below SQLite's and asyncpg's limits.
_IDS_PER_QUERY = 500

# The columns of a `DocHead` and of a `StoredUpdate`, in their order.
_HEAD = (
    documents.c.id,
    documents.c.kind,
    documents.c.grid,
    documents.c.head_seq,
    documents.c.update_count,
)
_STORED = (updates.c.seq, updates.c.doc_id, updates.c.grid, updates.c.data, updates.c.device)


class SqlUpdateStore:
    def __init__(self, engine: AsyncEngine, *, chunk_rows: int = 256) -> None:
        self._engine = engine
        self._upsert_documents = _upsert_documents(engine.dialect.name)
        # A pull reads the log this many rows at a time; the last chunk may be read past
        # the page's budget, so this also bounds the wasted read.
        self._chunk_rows = chunk_rows

    async def heads(self, doc_ids: Sequence[str]) -> dict[str, DocHead]:
        found: dict[str, DocHead] = {}
        async with self._engine.connect() as connection:
            for ids in _chunks(doc_ids):
                query = select(*_HEAD).where(documents.c.id.in_(ids))
                for row in await connection.execute(query):
                    found[row.id] = DocHead(*row)
        return found

    async def updates(self, doc_id: str, after_seq: int = 0) -> list[StoredUpdate]:
        query = (
            select(*_STORED)
            .where(updates.c.doc_id == doc_id, updates.c.seq > after_seq)
            .order_by(updates.c.seq)
        )
        async with self._engine.connect() as connection:
            return [StoredUpdate(*row) for row in await connection.execute(query)]

    async def append(self, new: Sequence[NewUpdate]) -> dict[str, tuple[int, int]]:
        if not new:
            return {}
        async with write_transaction(self._engine) as connection:
            return await self._append(connection, new)

    async def _append(
        self, connection: AsyncConnection, new: Sequence[NewUpdate]
    ) -> dict[str, tuple[int, int]]:
        # First statement, so the counter's row lock (SQLite: the write lock) is held from
        # here to commit: appends commit in the order of the sequences they took.
        bump = (
            update(seq_counter)
            .where(seq_counter.c.id == 1)
            .values(value=seq_counter.c.value + len(new))
            .returning(seq_counter.c.value)
        )
        first = (await connection.execute(bump)).scalar_one() - len(new) + 1
        now = datetime.now(UTC)
        rows = [_update_row(first + index, item, now) for index, item in enumerate(new)]
        changed = _document_rows(rows, new, now)
        before = await _head_seqs(connection, list(changed))
        await connection.execute(insert(updates), rows)
        await connection.execute(self._upsert_documents, list(changed.values()))
        return {doc_id: (before.get(doc_id, 0), doc["head_seq"]) for doc_id, doc in changed.items()}

    async def since(
        self,
        cursors: Mapping[str, int],
        exclude_device: str | None,
        max_bytes: int,
        max_rows: int,
    ) -> PullBatch:
        page = _Page(exclude_device, max_bytes, max_rows)
        if not cursors:
            return page.done(more=False)
        after = min(cursors.values())
        async with self._engine.connect() as connection:
            while True:
                limit = min(self._chunk_rows, max(max_rows - len(page.found), 0) + 1)
                query = _pull_query(cursors, exclude_device, after, limit)
                rows = (await connection.execute(query)).all()
                for row in rows:
                    if not page.take(row):
                        return page.done(more=True)
                if len(rows) < limit:
                    return page.done(more=False)
                after = rows[-1].seq

    async def updates_of(self, doc_ids: Sequence[str]) -> dict[str, list[StoredUpdate]]:
        """One query per `_IDS_PER_QUERY` documents."""
        found: dict[str, list[StoredUpdate]] = {doc_id: [] for doc_id in doc_ids}
        async with self._engine.connect() as connection:
            for ids in _chunks(doc_ids):
                query = (
                    select(*_STORED)
                    .where(updates.c.doc_id.in_(ids))
                    .order_by(updates.c.doc_id, updates.c.seq)
                )
                for row in await connection.execute(query):
                    found[row.doc_id].append(StoredUpdate(*row))
        return found

    async def replace_with_snapshot(
        self, doc_id: str, seqs: Sequence[int], snapshot: bytes
    ) -> bool:
        return doc_id in await self.replace_with_snapshots([Snapshot(doc_id, seqs, snapshot)])

    async def replace_with_snapshots(self, snapshots: Sequence[Snapshot]) -> set[str]:
        """In one transaction."""
        wanted = {s.doc_id: s for s in snapshots if s.seqs}
        if not wanted:
            return set()
        async with write_transaction(self._engine) as connection:
            return await _replace(connection, wanted)


async def _replace(connection: AsyncConnection, wanted: dict[str, Snapshot]) -> set[str]:
    # Every deleter of update rows (a compactor) locks the documents' rows first, in id order
    # (PostgreSQL; SQLite holds the write lock already): compactors take turns, and while
    # the locks are held a document's rows can only grow (appends), never go.
    lock = (
        select(documents.c.id, documents.c.grid)
        .where(documents.c.id.in_(sorted(wanted)))
        .order_by(documents.c.id)
        .with_for_update()
    )
    grids = {row.id: row.grid for row in await connection.execute(lock)}
    seqs = [seq for doc_id in grids for seq in set(wanted[doc_id].seqs)]
    found: dict[str, tuple[int, int]] = {}  # document → rows of `seqs` still there, bytes
    count_rows = select(updates.c.doc_id, func.count(), func.sum(func.length(updates.c.data)))
    for some in _chunks(seqs):
        query = count_rows.where(updates.c.seq.in_(some)).group_by(updates.c.doc_id)
        for doc_id, count, size in await connection.execute(query):
            rows, total = found.get(doc_id, (0, 0))
            found[doc_id] = (rows + count, total + int(size))
    intact = {
        doc_id: size
        for doc_id, (count, size) in found.items()
        if doc_id in grids and count == len(set(wanted[doc_id].seqs))
    }
    if not intact:
        return set()
    # Sequences are unique across documents: these are exactly the intact documents' rows.
    for some in _chunks([seq for doc_id in intact for seq in set(wanted[doc_id].seqs)]):
        await connection.execute(updates.delete().where(updates.c.seq.in_(some)))
    now = datetime.now(UTC)
    await connection.execute(
        insert(updates),
        [
            {
                "seq": max(wanted[doc_id].seqs),
                "doc_id": doc_id,
                "grid": grids[doc_id],
                "device": None,
                "data": wanted[doc_id].data,
                "is_snapshot": True,
                "created_at": now,
            }
            for doc_id in intact
        ],
    )
    shrink = (
        update(documents)
        .where(documents.c.id == bindparam("doc"))
        .values(
            update_count=documents.c.update_count - bindparam("removed") + 1,
            byte_size=documents.c.byte_size - bindparam("freed"),
        )
    )
    await connection.execute(
        shrink,
        [
            {
                "doc": doc_id,
                "removed": len(set(wanted[doc_id].seqs)),
                "freed": size - len(wanted[doc_id].data),
            }
            for doc_id, size in intact.items()
        ],
    )
    return set(intact)


@dataclass
class _Page:
    """A pull page being filled, with the same budget rules as the memory store."""

    exclude_device: str | None
    max_bytes: int
    max_rows: int
    found: list[StoredUpdate] = field(default_factory=list)
    size: int = 0
    last_seq: int = 0

    def take(self, row: Row[Any]) -> bool:
        """Examine the next row; False when it belongs to the next page."""
        full = len(self.found) >= self.max_rows or self.size + row.size > self.max_bytes
        if self.found and full:
            return False
        self.last_seq = row.seq
        if row.device is None or row.device != self.exclude_device:
            self.found.append(StoredUpdate(row.seq, row.doc_id, row.grid, row.data, row.device))
            self.size += row.size
        return True

    def done(self, *, more: bool) -> PullBatch:
        return PullBatch(self.found, self.last_seq, more)


def _pull_query(
    cursors: Mapping[str, int], exclude_device: str | None, after: int, limit: int
) -> Select[Any]:
    data: ColumnElement[Any] = updates.c.data
    if exclude_device is not None:
        # A device's own rows move its cursor but are never sent: do not even read them.
        data = case((updates.c.device == exclude_device, null()), else_=updates.c.data)
    columns = (updates.c.seq, updates.c.doc_id, updates.c.grid, updates.c.device)
    extra = (data.label("data"), func.length(updates.c.data).label("size"))
    arms = [
        select(*columns, *extra)
        .where(updates.c.grid == grid, updates.c.seq > max(seq, after))
        .order_by(updates.c.seq)
        .limit(limit)
        for grid, seq in cursors.items()
    ]
    if len(arms) == 1:
        return arms[0]
    # One ordered index range per grid, merged: an OR of the grids would make the database
    # gather and sort a grid's whole backlog for every chunk.
    merged = union_all(*(select(arm.subquery()) for arm in arms)).subquery()
    return select(merged).order_by(merged.c.seq).limit(limit)


def _update_row(seq: int, item: NewUpdate, now: datetime) -> dict[str, Any]:
    return {
        "seq": seq,
        "doc_id": item.doc_id,
        "grid": item.grid,
        "device": item.device,
        "data": item.data,
        "created_at": now,
    }


def _document_rows(
    rows: list[dict[str, Any]], new: Sequence[NewUpdate], now: datetime
) -> dict[str, dict[str, Any]]:
    """Per document: its row if this append creates it, and what the append adds to it."""
    changed: dict[str, dict[str, Any]] = {}
    for row, item in zip(rows, new, strict=True):
        doc = changed.setdefault(
            item.doc_id,
            {
                "id": item.doc_id,
                "kind": item.kind or "",
                "grid": item.grid,
                "created_by": item.device,
                "created_at": now,
                "updated_at": now,
                "update_count": 0,
                "byte_size": 0,
            },
        )
        doc["head_seq"] = row["seq"]
        doc["update_count"] += 1
        doc["byte_size"] += len(item.data)
    return changed


def _upsert_documents(dialect: str) -> postgresql.Insert | sqlite.Insert:
    # Insert-or-update: of two appends creating one document, the first keeps kind and grid.
    statement = (postgresql.insert if dialect == "postgresql" else sqlite.insert)(documents)
    return statement.on_conflict_do_update(
        index_elements=[documents.c.id],
        set_={
            "head_seq": statement.excluded.head_seq,
            "update_count": documents.c.update_count + statement.excluded.update_count,
            "byte_size": documents.c.byte_size + statement.excluded.byte_size,
            "updated_at": statement.excluded.updated_at,
        },
    )


async def _head_seqs(connection: AsyncConnection, doc_ids: list[str]) -> dict[str, int]:
    seqs: dict[str, int] = {}
    for ids in _chunks(doc_ids):
        query = select(documents.c.id, documents.c.head_seq).where(documents.c.id.in_(ids))
        seqs.update((row.id, row.head_seq) for row in await connection.execute(query))
    return seqs


def _chunks(items: Sequence[_Item]) -> Iterator[Sequence[_Item]]:
    for start in range(0, len(items), _IDS_PER_QUERY):
        yield items[start : start + _IDS_PER_QUERY]
