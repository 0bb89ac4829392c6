"""The read API for coordinators and jobs: merged records from the SQL projection.

Every query is limited to the caller's grids; a record outside them is answered like an
absent one. Pages are keyset-paginated on (created_at, doc_id), newest first.
"""

import base64
import binascii
from dataclasses import dataclass, field
from datetime import datetime
from typing import Annotated, Any, Literal

import msgspec
import sqlalchemy as sa
from litestar import get
from litestar.params import FromPath, FromQuery, QueryParameter
from sqlalchemy.ext.asyncio import AsyncConnection

from server.access.roles import Permission
from server.db.record_tables import (
    case_parties,
    cases,
    conflicts,
    field_history,
    household_members,
    household_tags,
    households,
    record_notes,
    validation_issues,
    visit_needs,
    visits,
)
from server.errors import ClientError
from server.wiring import Caller, ServicesDep

MAX_PAGE = 200


@dataclass(frozen=True, slots=True)
class Kind:
    table: sa.Table
    children: dict[str, sa.Table] = field(default_factory=dict)
    # Query parameter -> column, for exact-match filters.
    filters: dict[str, str] = field(default_factory=dict)


KINDS = {
    "households": Kind(households, {"members": household_members, "tags": household_tags}),
    "visits": Kind(
        visits, {"needs": visit_needs}, {"purpose": "purpose", "household": "household"}
    ),
    "cases": Kind(
        cases, {"parties": case_parties}, {"status": "status", "level": "level", "type": "type"}
    ),
}


class RecordPage(msgspec.Struct):
    items: list[dict[str, Any]]
    # Pass as `after` for the next page; null on the last page.
    next: str | None


class RecordDetail(msgspec.Struct):
    record: dict[str, Any]
    children: dict[str, list[dict[str, Any]]]
    notes: list[dict[str, Any]]
    history: list[dict[str, Any]]
    conflicts: list[dict[str, Any]]
    issues: list[dict[str, Any]]


def _mask_id_number(value: str | None) -> str | None:
    """ID numbers are sensitive personal data (PIPL): show only enough to tell them apart."""
    if not value:
        return value
    return value[:3] + "*" * (len(value) - 7) + value[-4:] if len(value) > 7 else "*" * len(value)


def _encode_after(row: dict[str, Any]) -> str:
    raw = f"{row['created_at'].isoformat()}|{row['doc_id']}".encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def _decode_after(token: str) -> tuple[datetime, str]:
    try:
        raw = base64.urlsafe_b64decode(token + "=" * (-len(token) % 4)).decode()
        at, _, doc_id = raw.partition("|")
        return datetime.fromisoformat(at), doc_id
    except (binascii.Error, UnicodeDecodeError, ValueError) as error:
        raise ClientError(
            400, "malformed_page_token", "`after` is not a token this API gave"
        ) from error


@dataclass(frozen=True, slots=True)
class ListQuery:
    grid: str | None = None
    member: str | None = None
    since: datetime | None = None
    until: datetime | None = None
    exact: dict[str, str] = field(default_factory=dict)
    tags: list[str] = field(default_factory=list)
    has_conflict: bool | None = None
    has_issues: bool | None = None
    limit: int = 50
    after: str | None = None


def _where(kind: Kind, grids: frozenset[str], query: ListQuery) -> list[sa.ColumnElement[bool]]:
    table = kind.table
    allowed = grids & {query.grid} if query.grid else grids
    clauses: list[sa.ColumnElement[bool]] = [table.c.grid.in_(sorted(allowed))]
    if query.member:
        members = [table.c.created_by == query.member]
        if "visitor" in table.c:
            members.append(table.c.visitor == query.member)
        clauses.append(sa.or_(*members))
    if query.since:
        clauses.append(table.c.created_at >= query.since)
    if query.until:
        clauses.append(table.c.created_at < query.until)
    for name, value in query.exact.items():
        clauses.append(table.c[kind.filters[name]] == value)
    if query.tags:
        tagged = sa.select(household_tags.c.doc_id).where(household_tags.c.tag.in_(query.tags))
        clauses.append(table.c.doc_id.in_(tagged))
    if query.has_conflict is not None:
        clauses.append(table.c.has_conflict.is_(query.has_conflict))
    if query.has_issues is not None:
        clauses.append(
            (table.c.issue_count > 0) if query.has_issues else (table.c.issue_count == 0)
        )
    if query.after:
        at, doc_id = _decode_after(query.after)
        clauses.append(sa.tuple_(table.c.created_at, table.c.doc_id) < sa.tuple_(at, doc_id))
    return clauses


async def list_records(
    connection: AsyncConnection, kind: Kind, grids: frozenset[str], query: ListQuery
) -> RecordPage:
    table = kind.table
    limit = max(1, min(query.limit, MAX_PAGE))
    rows = (
        await connection.execute(
            sa.select(table)
            .where(*_where(kind, grids, query))
            .order_by(table.c.created_at.desc(), table.c.doc_id.desc())
            .limit(limit + 1)
        )
    ).mappings()
    items = [dict(row) for row in rows]
    more = len(items) > limit
    items = items[:limit]
    return RecordPage(items, _encode_after(items[-1]) if more else None)


async def record_detail(
    connection: AsyncConnection, kind: Kind, grids: frozenset[str], doc_id: str
) -> RecordDetail:
    table = kind.table
    row = (
        (
            await connection.execute(
                sa.select(table).where(table.c.doc_id == doc_id, table.c.grid.in_(sorted(grids)))
            )
        )
        .mappings()
        .first()
    )
    if row is None:
        raise ClientError(404, "unknown_record", "no such record in your scope")

    async def rows_of(child: sa.Table, *where: sa.ColumnElement[bool]) -> list[dict[str, Any]]:
        order = child.c.position if "position" in child.c else child.c.conflict_id
        result = await connection.execute(
            sa.select(child).where(child.c.doc_id == doc_id, *where).order_by(order)
        )
        return [{k: v for k, v in r.items() if k != "doc_id"} for r in result.mappings()]

    children = {name: await rows_of(child) for name, child in kind.children.items()}
    for member in children.get("members", []):
        member["id_number"] = _mask_id_number(member.get("id_number"))
    return RecordDetail(
        record=dict(row),
        children=children,
        notes=await rows_of(record_notes),
        history=await rows_of(field_history),
        conflicts=await rows_of(conflicts, conflicts.c.status == "open"),
        issues=await rows_of(validation_issues),
    )


Limit = Annotated[int, QueryParameter(ge=1, le=MAX_PAGE)]
KindName = Literal["households", "visits", "cases"]


@get("/api/{kind:str}", summary="List merged records of one kind")
async def list_kind(
    kind: FromPath[KindName],
    services: ServicesDep,
    caller: Caller,
    grid: FromQuery[str | None] = None,
    member: FromQuery[str | None] = None,
    since: FromQuery[datetime | None] = None,
    until: FromQuery[datetime | None] = None,
    status: FromQuery[str | None] = None,
    level: FromQuery[str | None] = None,
    type: FromQuery[str | None] = None,
    purpose: FromQuery[str | None] = None,
    household: FromQuery[str | None] = None,
    review: FromQuery[str | None] = None,
    tag: FromQuery[list[str] | None] = None,
    has_conflict: FromQuery[bool | None] = None,
    has_issues: FromQuery[bool | None] = None,
    limit: Limit = 50,
    after: FromQuery[str | None] = None,
) -> RecordPage:
    """Records in the caller's grids, newest first; `next` pages on."""
    spec = KINDS[kind]
    given = {"status": status, "level": level, "type": type, "purpose": purpose}
    given.update(household=household, review=review)
    unknown = [name for name, v in given.items() if v is not None and name not in spec.filters]
    if unknown or (tag and kind != "households"):
        raise ClientError(400, "unknown_filter", f"{kind} cannot be filtered by {unknown or 'tag'}")
    query = ListQuery(
        grid,
        member,
        since,
        until,
        {name: v for name, v in given.items() if v is not None},
        tag or [],
        has_conflict,
        has_issues,
        limit,
        after,
    )
    caller.require(Permission.READ_RECORDS)
    async with services.database.connect() as connection:
        return await list_records(connection, spec, caller.grids, query)


@get("/api/{kind:str}/{doc_id:str}", summary="One merged record with notes, history, conflicts")
async def get_record(
    kind: FromPath[KindName], doc_id: FromPath[str], services: ServicesDep, caller: Caller
) -> RecordDetail:
    caller.require(Permission.READ_RECORDS)
    async with services.database.connect() as connection:
        return await record_detail(connection, KINDS[kind], caller.grids, doc_id)
