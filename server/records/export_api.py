"""Exporting a filtered record list: `GET /api/{kind}/export?format=csv|xlsx`.

Every row the filters match in the caller's grids, walked in the read API's keyset pages
(no page cap, but at most `MAX_ROWS`: beyond, a 400 asks for narrower filters). The file
is written to a spooled temporary file first, so a refusal never arrives as half a file
and the audit entry (`records.exported`) knows how many rows went out. Personal data is
masked unless a role with the right asks `reveal=true`. The console's list page links to
the same export (`server/console/exports.py`).
"""

import asyncio
from collections.abc import AsyncIterator, Iterator
from dataclasses import asdict, replace
from datetime import datetime
from typing import IO, Any, Literal

from litestar import get
from litestar.datastructures import ResponseHeader
from litestar.params import FromPath, FromQuery
from litestar.response import Stream
from sqlalchemy.ext.asyncio import AsyncConnection

from server.access.principal import Principal
from server.access.roles import Permission
from server.console.i18n import Lang, translate
from server.console.render import SHANGHAI
from server.db.engine import write_transaction
from server.errors import ClientError
from server.records.api import (
    KINDS,
    MAX_PAGE,
    ListQuery,
    Reveal,
    Search,
    list_query,
    list_records,
)
from server.records.export_files import MEDIA_TYPES, Format, Sheet, cells, header, new_sheet
from server.records.personal_data import mask_row, mask_text
from server.web.dependencies import Caller, Services, ServicesDep
from server.web.openapi import answers, problems

MAX_ROWS = 100_000
CHUNK = 64 * 1024
KindName = Literal["households", "visits", "cases"]


async def _rows(
    connection: AsyncConnection, kind: str, grids: frozenset[str], query: ListQuery
) -> AsyncIterator[dict[str, Any]]:
    """Every matching row, newest first, one keyset page at a time."""
    query = replace(query, limit=MAX_PAGE, after=None)
    while True:
        page = await list_records(connection, KINDS[kind], grids, query)
        for row in page.items:
            yield row
        if page.next is None:
            return
        query = replace(query, after=page.next)


def _given(query: ListQuery) -> dict[str, Any]:
    """The filters as JSON for the audit log."""
    given = {k: v for k, v in asdict(query).items() if k not in ("limit", "after")}
    if query.q:  # a number searched for is personal data: kept masked
        given["q"] = mask_text(query.q)
    return {
        k: v.isoformat() if isinstance(v, datetime) else v
        for k, v in given.items()
        if v not in (None, [], {})
    }


async def _check_reveal(services: Services, caller: Principal, kind: str, reveal: bool) -> None:
    if reveal and not caller.can(Permission.PERSONAL_DATA):
        await services.access.audit.record(
            "records.exported", caller, outcome="denied", target_kind=kind, detail={"kind": kind}
        )
        caller.require(Permission.PERSONAL_DATA)


async def _written(
    services: Services,
    caller: Principal,
    kind: str,
    query: ListQuery,
    sheet: Sheet,
    *,
    lang: Lang,
    reveal: bool,
) -> int:
    """Rows into `sheet`, masked unless revealed; their count."""
    columns = [column.name for column in KINDS[kind].table.columns]
    count = 0
    async with services.database.connect() as connection:
        async for row in _rows(connection, kind, caller.grids, query):
            count += 1
            if count > MAX_ROWS:
                raise ClientError(
                    400,
                    "export_too_large",
                    f"more than {MAX_ROWS} records match: narrow the filters (a period, a grid)",
                )
            sheet.append(cells(lang, columns, row if reveal else mask_row(row)))
    return count


def _chunks(file: IO[bytes]) -> Iterator[bytes]:
    with file:
        while chunk := file.read(CHUNK):
            yield chunk


async def export(
    services: Services,
    caller: Principal,
    kind: str,
    query: ListQuery,
    *,
    format: Format,
    lang: Lang,
    reveal: bool,
) -> Stream:
    """The file of every row `query` matches in the caller's grids, audited."""
    caller.require(Permission.READ_RECORDS)
    await _check_reveal(services, caller, kind, reveal)
    columns = [column.name for column in KINDS[kind].table.columns]
    sheet = new_sheet(format, [header(lang, c) for c in columns], translate(lang, kind))
    try:
        count = await _written(services, caller, kind, query, sheet, lang=lang, reveal=reveal)
        file = await asyncio.to_thread(sheet.finish)  # zipping a workbook takes a while
    except BaseException:
        sheet.discard()
        raise
    detail = {"kind": kind, "filters": _given(query), "rows": count, "format": format}
    async with write_transaction(services.database) as connection:
        await services.access.audit.record(
            "records.exported",
            caller,
            target_kind=kind,
            detail={**detail, "revealed": reveal},
            connection=connection,
        )
    stamp = datetime.now(SHANGHAI).strftime("%Y%m%d-%H%M")
    return Stream(
        _chunks(file),
        media_type=MEDIA_TYPES[format],
        headers={
            "Content-Disposition": f'attachment; filename="{kind}-{stamp}.{format}"',
            "Cache-Control": "no-store",
        },
    )


@get(
    "/api/{kind:str}/export",
    summary="The filtered list as a CSV or XLSX file",
    responses=problems(400, 401, 403),
    opt=answers({"text/csv": str, MEDIA_TYPES["xlsx"]: bytes}),
    response_headers=[
        ResponseHeader(
            name="Content-Disposition",
            description='`attachment; filename="visits-20261123-0800.csv"`',
            documentation_only=True,
        )
    ],
)
async def export_kind(
    kind: FromPath[KindName],
    services: ServicesDep,
    caller: Caller,
    format: FromQuery[Format] = "csv",
    lang: FromQuery[Lang] = "zh",
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
    reveal: Reveal = False,
) -> Stream:
    """Takes the list's filters (`GET /api/{kind}`); headers in zh-CN unless `lang=en`."""
    caller.require(Permission.READ_RECORDS)
    given = {"status": status, "level": level, "type": type, "purpose": purpose}
    given.update(household=household, review=review)
    personal = caller.can(Permission.PERSONAL_DATA)
    filters = (grid, member, since, until, tag, has_conflict, has_issues, q, personal)
    query = list_query(kind, given, *filters)
    return await export(services, caller, kind, query, format=format, lang=lang, reveal=reveal)


ROUTES = [export_kind]
