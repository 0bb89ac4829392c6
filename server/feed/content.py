"""What a feed item carries of its record: the read API's detail (`GET /api/{kind}/{id}`),
loaded for a whole page at once (a query per table, not per document) and masked."""

from collections import defaultdict
from collections.abc import Sequence
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection

from server.db.record_tables import conflicts, field_history, record_notes, validation_issues
from server.feed.pages import Change
from server.records.api import KINDS, RecordDetail, masked

# A document's `meta.kind` → the read API's name of its kind.
API_KIND = {"household": "households", "visit": "visits", "case": "cases"}
Rows = dict[str, list[dict[str, Any]]]


async def _rows_by_doc(
    connection: AsyncConnection,
    table: sa.Table,
    doc_ids: Sequence[str],
    *where: sa.ColumnElement[bool],
) -> Rows:
    order = table.c.position if "position" in table.c else table.c.conflict_id
    query = sa.select(table).where(table.c.doc_id.in_(doc_ids), *where)
    found: Rows = defaultdict(list)
    for row in (await connection.execute(query.order_by(table.c.doc_id, order))).mappings():
        found[row["doc_id"]].append({k: v for k, v in row.items() if k != "doc_id"})
    return found


async def details(
    connection: AsyncConnection, changes: Sequence[Change]
) -> dict[str, RecordDetail]:
    """The masked detail of every change whose record has a projected row."""
    found: dict[str, RecordDetail] = {}
    by_kind: dict[str, list[str]] = defaultdict(list)
    for change in changes:
        if change.kind in API_KIND:
            by_kind[API_KIND[change.kind]].append(change.doc_id)
    everyone = [doc_id for ids in by_kind.values() for doc_id in ids]
    if not everyone:
        return found
    notes = await _rows_by_doc(connection, record_notes, everyone)
    history = await _rows_by_doc(connection, field_history, everyone)
    open_ = await _rows_by_doc(connection, conflicts, everyone, conflicts.c.status == "open")
    issues = await _rows_by_doc(connection, validation_issues, everyone)
    for name, doc_ids in by_kind.items():
        kind = KINDS[name]
        rows = await connection.execute(
            sa.select(kind.table).where(kind.table.c.doc_id.in_(doc_ids))
        )
        records = {row["doc_id"]: dict(row) for row in rows.mappings()}
        children = {
            child: await _rows_by_doc(connection, table, doc_ids)
            for child, table in kind.children.items()
        }
        for doc_id, record in records.items():
            detail = RecordDetail(
                record=record,
                children={child: rows_of.get(doc_id, []) for child, rows_of in children.items()},
                notes=notes.get(doc_id, []),
                history=history.get(doc_id, []),
                conflicts=open_.get(doc_id, []),
                issues=issues.get(doc_id, []),
            )
            found[doc_id] = masked(detail)
    return found
