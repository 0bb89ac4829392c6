"""The read API for coordinators and jobs: merged records from the SQL projection.

Every query is limited to the caller's grids; a record outside them is answered like an
absent one. Pages are keyset-paginated on (created_at, doc_id), newest first.
ID and phone numbers are masked unless a caller with the right asks `reveal=true`
(server/records/personal_data.py); every read is written to the audit log, a reveal twice.
"""

import base64
import binascii
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from typing import Annotated, Any, Literal

import msgspec
import sqlalchemy as sa
from litestar import get
from litestar.params import FromPath, FromQuery, QueryParameter
from sqlalchemy.ext.asyncio import AsyncConnection

from server.access.principal import Principal
from server.access.roles import Permission
from server.db.engine import write_transaction
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
from server.db.tables import UtcDateTime
from server.errors import ClientError
from server.records.personal_data import mask_row, mask_text, mask_written
from server.records.search import search_clauses, words
from server.web.dependencies import Caller, Services, ServicesDep
from server.web.openapi import problems
from server.web.params import aware

MAX_PAGE = 200
UNDATED = datetime(1970, 1, 1, tzinfo=UTC)


@dataclass(frozen=True, slots=True)
class Kind:
    table: sa.Table
    children: dict[str, sa.Table] = field(default_factory=dict)
    # Query parameter -> column, for exact-match filters.
    filters: dict[str, str] = field(default_factory=dict)


# Every kind can be filtered by what a coordinator decided (null: not reviewed yet).
_REVIEW = {"review": "review_state"}
KINDS = {
    "households": Kind(households, {"members": household_members, "tags": household_tags}, _REVIEW),
    "visits": Kind(
        visits, {"needs": visit_needs}, {"purpose": "purpose", "household": "household", **_REVIEW}
    ),
    "cases": Kind(
        cases,
        {"parties": case_parties},
        {"status": "status", "level": "level", "type": "type", **_REVIEW},
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


def _created(table: sa.Table) -> sa.ColumnElement[datetime]:
    """The sort key: a record whose `created_at` did not validate sorts as the oldest (a NULL
    would drop out of the keyset comparison and end a page walk early)."""
    return sa.func.coalesce(table.c.created_at, sa.literal(UNDATED, UtcDateTime()))


def _encode_after(row: dict[str, Any]) -> str:
    raw = f"{(row['created_at'] or UNDATED).isoformat()}|{row['doc_id']}".encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def _decode_after(token: str) -> tuple[datetime, str]:
    try:
        raw = base64.urlsafe_b64decode(token + "=" * (-len(token) % 4)).decode()
        at, _, doc_id = raw.partition("|")
        parsed = datetime.fromisoformat(at)
        if parsed.tzinfo is None:
            raise ValueError("a time without its offset")
        parsed.astimezone(UTC)  # the years 1 to 9999 in UTC too
    except (binascii.Error, UnicodeDecodeError, ValueError, OverflowError) as error:
        raise ClientError(
            400, "malformed_page_token", "`after` is not a token this API gave"
        ) from error
    return parsed, doc_id


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
    # Free text (server/records/search.py); personal-data columns are searched only if `personal`
    # (None without a search: an export's audit entry then does not mention it).
    q: str | None = None
    personal: bool | None = None


def _where(kind: Kind, grids: frozenset[str], query: ListQuery) -> list[sa.ColumnElement[bool]]:
    table = kind.table
    allowed = sorted(grids & {query.grid} if query.grid else grids)
    clauses: list[sa.ColumnElement[bool]] = [table.c.grid.in_(allowed)]
    clauses += search_clauses(table, query.q, allowed, personal=bool(query.personal))
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
        clauses.append(sa.tuple_(_created(table), table.c.doc_id) < sa.tuple_(at, doc_id))
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
            .order_by(_created(table).desc(), table.c.doc_id.desc())
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

    return RecordDetail(
        record=dict(row),
        children={name: await rows_of(child) for name, child in kind.children.items()},
        notes=await rows_of(record_notes),
        history=await rows_of(field_history),
        conflicts=await rows_of(conflicts, conflicts.c.status == "open"),
        issues=await rows_of(validation_issues),
    )


def masked(detail: RecordDetail) -> RecordDetail:
    """The detail as a caller without the right to personal data sees it."""
    return RecordDetail(
        record=mask_row(detail.record),
        children={name: [mask_row(row) for row in rows] for name, rows in detail.children.items()},
        notes=[mask_row(note) for note in detail.notes],
        history=[
            {**entry, "value": mask_written(entry["field"], entry["value"])}
            for entry in detail.history
        ],
        conflicts=[
            {
                **conflict,
                "entries": [
                    {**entry, "value": mask_written(conflict["field"], entry.get("value"))}
                    for entry in conflict["entries"]
                ],
                "current_value": mask_written(conflict["field"], conflict["current_value"]),
            }
            for conflict in detail.conflicts
        ],
        issues=[{**issue, "message": mask_text(issue["message"])} for issue in detail.issues],
    )


async def _check_reveal(services: Services, caller: Principal, kind: str, reveal: bool) -> None:
    """Only roles with the right see personal data in full; a refused try is audited too."""
    if reveal and not caller.can(Permission.PERSONAL_DATA):
        await services.access.audit.record(
            "record.revealed", caller, outcome="denied", target_kind=kind
        )
        caller.require(Permission.PERSONAL_DATA)


@dataclass(frozen=True, slots=True)
class Read:
    """What the audit log keeps of one read."""

    kind: str
    docs: list[str]
    detail: dict[str, Any] | None = None
    target: str | None = None
    outcome: str = "ok"


async def _audit_read(
    services: Services, caller: Principal, action: str, read: Read, *, reveal: bool
) -> None:
    """Every read of records leaves a trace; a reveal of personal data a second one."""
    async with write_transaction(services.database) as connection:
        await services.access.audit.record(
            action,
            caller,
            outcome=read.outcome,
            target_kind=read.kind,
            target=read.target,
            detail=read.detail,
            connection=connection,
        )
        if reveal and read.docs:
            await services.access.audit.record(
                "record.revealed",
                caller,
                target_kind=read.kind,
                target=read.target,
                detail={"docs": read.docs},
                connection=connection,
            )


def _filters(query: ListQuery) -> dict[str, Any]:
    """The filters a list call was given, as JSON for the audit log."""
    given = {
        "grid": query.grid,
        "member": query.member,
        "since": query.since.isoformat() if query.since else None,
        "until": query.until.isoformat() if query.until else None,
        **query.exact,
        "tag": query.tags or None,
        "has_conflict": query.has_conflict,
        "has_issues": query.has_issues,
        "after": query.after,
        # A number searched for is personal data: the audit log keeps it masked.
        "q": mask_text(query.q) if query.q else None,
    }
    return {name: value for name, value in given.items() if value is not None}


async def audit_list(
    services: Services, caller: Principal, kind: str, query: ListQuery, docs: list[str]
) -> None:
    """A list read by another reader of records (the console), audited as the API does."""
    detail = {"kind": kind, "filters": _filters(query), "docs": docs}
    await _audit_read(services, caller, "records.listed", Read(kind, docs, detail), reveal=False)


async def audit_view(
    services: Services, caller: Principal, kind: str, doc_id: str, found: bool
) -> None:
    """A detail read by another reader of records (the console), audited as the API does."""
    read = (
        Read(kind, [doc_id], target=doc_id)
        if found
        else Read(kind, [], target=doc_id[:100], outcome="not_found")
    )
    await _audit_read(services, caller, "record.viewed", read, reveal=False)


def list_query(
    kind: str,
    exact: dict[str, str | None],
    grid: str | None,
    member: str | None,
    since: datetime | None,
    until: datetime | None,
    tag: list[str] | None,
    has_conflict: bool | None,
    has_issues: bool | None,
    q: str | None = None,
    personal: bool = False,
) -> ListQuery:
    """The list filters of a request (the list API's and the export's), checked.
    `personal`: the caller may search personal data (server/records/search.py)."""
    spec = KINDS[kind]
    unknown = [name for name, v in exact.items() if v is not None and name not in spec.filters]
    if unknown or (tag and kind != "households"):
        raise ClientError(400, "unknown_filter", f"{kind} cannot be filtered by {unknown or 'tag'}")
    return ListQuery(
        grid,
        member,
        aware("since", since),
        aware("until", until),
        {name: v for name, v in exact.items() if v is not None},
        tag or [],
        has_conflict,
        has_issues,
        q=q.strip() if q and words(q) else None,
        personal=personal if q and words(q) else None,
    )


Limit = Annotated[int, QueryParameter(ge=1, le=MAX_PAGE)]
KindName = Literal["households", "visits", "cases"]


Reveal = Annotated[
    bool,
    QueryParameter(description="ID and phone numbers in full: needs the right, audited"),
]
Search = Annotated[
    str | None,
    QueryParameter(
        description="Words that must each appear in a text column (addresses, names, findings,"
        " titles…); phone and ID numbers only for roles with the right to personal data"
    ),
]


@get(
    "/api/{kind:str}",
    summary="List merged records of one kind",
    responses=problems(400, 401, 403),
)
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
    q: Search = None,
    limit: Limit = 50,
    after: FromQuery[str | None] = None,
    reveal: Reveal = False,
) -> RecordPage:
    """Records in the caller's grids, newest first; `next` pages on."""
    caller.require(Permission.READ_RECORDS)
    await _check_reveal(services, caller, kind, reveal)
    spec = KINDS[kind]
    given = {"status": status, "level": level, "type": type, "purpose": purpose}
    given.update(household=household, review=review)
    personal = caller.can(Permission.PERSONAL_DATA)
    filters = list_query(
        kind, given, grid, member, since, until, tag, has_conflict, has_issues, q, personal
    )
    query = replace(filters, limit=limit, after=after)
    async with services.database.connect() as connection:
        page = await list_records(connection, spec, caller.grids, query)
    docs = [item["doc_id"] for item in page.items]
    detail = {"kind": kind, "filters": _filters(query), "docs": docs}
    await _audit_read(services, caller, "records.listed", Read(kind, docs, detail), reveal=reveal)
    if not reveal:
        page.items = [mask_row(item) for item in page.items]
    return page


@get(
    "/api/{kind:str}/{doc_id:str}",
    summary="One merged record with notes, history, conflicts",
    responses=problems(400, 401, 403, 404),
)
async def get_record(
    kind: FromPath[KindName],
    doc_id: FromPath[str],
    services: ServicesDep,
    caller: Caller,
    reveal: Reveal = False,
) -> RecordDetail:
    caller.require(Permission.READ_RECORDS)
    await _check_reveal(services, caller, kind, reveal)
    try:
        async with services.database.connect() as connection:
            detail = await record_detail(connection, KINDS[kind], caller.grids, doc_id)
    except ClientError:
        read = Read(kind, [], target=doc_id[:100], outcome="not_found")
        await _audit_read(services, caller, "record.viewed", read, reveal=reveal)
        raise
    read = Read(kind, [doc_id], target=doc_id)
    await _audit_read(services, caller, "record.viewed", read, reveal=reveal)
    return detail if reveal else masked(detail)
