"""Read the nightly jobs' results: open overdue flags, and daily reports per unit.

Both are scoped like the read API: flags of the caller's grids only, and a report's units
whose every grid is the caller's (a coordinator sees its community and its grids, a street
officer its street too). Neither holds personal data; each read is audited.
"""

import base64
import binascii
import json
from collections import defaultdict
from datetime import date, datetime
from typing import Annotated, Any, Literal

import msgspec
import sqlalchemy as sa
from litestar import get
from litestar.params import FromQuery, QueryParameter
from sqlalchemy.ext.asyncio import AsyncConnection

from server.access.org import Level
from server.access.principal import Principal
from server.access.roles import Permission
from server.db.access_tables import org_units
from server.db.report_tables import daily_reports, overdue_items
from server.errors import ClientError
from server.web.dependencies import Caller, Services, ServicesDep
from server.web.openapi import problems
from server.web.params import MAX_INTEGER

MAX_PAGE = 500


class OverdueItem(msgspec.Struct):
    doc_id: str
    kind: str
    # A need's position in its visit's `needs`; 0 for a flag about the whole record.
    item: int
    rule: str
    grid: str | None
    due: date
    days_overdue: int
    flagged_at: datetime


class OverduePage(msgspec.Struct):
    items: list[OverdueItem]
    next: str | None


class UnitReport(msgspec.Struct):
    unit: str
    name: str
    level: str
    parent: str | None
    figures: dict[str, float]


class DailyReport(msgspec.Struct):
    day: date
    units: list[UnitReport]


def _token(key: list[Any]) -> str:
    return base64.urlsafe_b64encode(json.dumps(key).encode()).decode().rstrip("=")


def _after(token: str) -> tuple[date, str, str, int]:
    try:
        due, record, rule, item = json.loads(
            base64.urlsafe_b64decode(token + "=" * (-len(token) % 4))
        )
        key = date.fromisoformat(due), str(record), str(rule), int(item)
        if not 0 <= key[3] <= MAX_INTEGER:  # `overdue_items.item`
            raise ValueError("an item number no database holds")
        return key
    except (binascii.Error, ValueError, TypeError) as error:
        raise ClientError(
            400, "malformed_page_token", "`after` is not a token this API gave"
        ) from error


async def open_flags(
    connection: AsyncConnection,
    grids: frozenset[str],
    limit: int,
    *,
    kind: str | None = None,
    rule: str | None = None,
    after: str | None = None,
) -> OverduePage:
    """Open flags in `grids`, the longest overdue first (earliest due), paged."""
    table = overdue_items
    order = (table.c.due, table.c.record_id, table.c.rule, table.c.item)
    query = sa.select(table).where(table.c.cleared_at.is_(None), table.c.grid.in_(sorted(grids)))
    if kind:
        query = query.where(table.c.kind == kind)
    if rule:
        query = query.where(table.c.rule == rule)
    if after:
        query = query.where(sa.tuple_(*order) > sa.tuple_(*_after(after)))
    rows = (await connection.execute(query.order_by(*order).limit(limit + 1))).all()
    items = [
        OverdueItem(
            row.record_id,
            row.kind,
            row.item,
            row.rule,
            row.grid,
            row.due,
            row.days_overdue,
            row.flagged_at,
        )
        for row in rows[:limit]
    ]
    last = rows[limit - 1] if len(rows) > limit else None
    token = _token([last.due.isoformat(), last.record_id, last.rule, last.item]) if last else None
    return OverduePage(items, token)


async def visible_units(connection: AsyncConnection, grids: frozenset[str]) -> dict[str, Any]:
    """The org units whose every grid (at least one) is in `grids`, by code."""
    units = {row.code: row for row in await connection.execute(sa.select(org_units))}
    below: dict[str, set[str]] = defaultdict(set)
    for unit in units.values():
        if unit.level != Level.GRID:
            continue
        code: str | None = unit.code
        while code is not None and code in units:
            below[code].add(unit.code)
            code = units[code].parent
    return {code: units[code] for code, mine in below.items() if mine <= grids}


async def report_of(
    connection: AsyncConnection, grids: frozenset[str], day: date | None
) -> DailyReport:
    if day is None:
        day = await connection.scalar(sa.select(sa.func.max(daily_reports.c.day)))
    units = await visible_units(connection, grids)
    rows = await connection.execute(
        sa.select(daily_reports.c.unit, daily_reports.c.figure, daily_reports.c.value).where(
            daily_reports.c.day == day, daily_reports.c.unit.in_(sorted(units))
        )
    )
    figures: dict[str, dict[str, float]] = defaultdict(dict)
    for unit, figure, value in rows:
        figures[unit][figure] = value
    if day is None or not figures:
        raise ClientError(404, "unknown_report", "no report of that day for your units")
    levels = list(Level)
    return DailyReport(
        day,
        [
            UnitReport(code, units[code].name, units[code].level, units[code].parent, figures[code])
            for code in sorted(figures, key=lambda c: (levels.index(Level(units[c].level)), c))
        ],
    )


async def _audit(
    services: Services, caller: Principal, action: str, detail: dict[str, Any]
) -> None:
    await services.access.audit.record(action, caller, target_kind="report", detail=detail)


async def audit_overdue(
    services: Services, caller: Principal, filters: dict[str, Any], page: OverduePage
) -> None:
    """A read of flags (the API's or the console's): which records' flags it showed."""
    detail = {
        "filters": {name: value for name, value in filters.items() if value},
        "docs": sorted({item.doc_id for item in page.items}),
    }
    await _audit(services, caller, "overdue.listed", detail)


Limit = Annotated[int, QueryParameter(ge=1, le=MAX_PAGE)]


@get(
    "/api/overdue",
    summary="Open overdue flags in the caller's grids",
    responses=problems(400, 401, 403),
)
async def list_overdue(
    services: ServicesDep,
    caller: Caller,
    grid: FromQuery[str | None] = None,
    kind: FromQuery[Literal["visit", "case"] | None] = None,
    rule: FromQuery[str | None] = None,
    limit: Limit = 100,
    after: FromQuery[str | None] = None,
) -> OverduePage:
    """What the last `overdue` run flagged and is still overdue; `next` pages on."""
    caller.require(Permission.READ_RECORDS)
    grids = caller.grids & {grid} if grid else caller.grids
    async with services.database.connect() as connection:
        page = await open_flags(connection, grids, limit, kind=kind, rule=rule, after=after)
    filters = {"grid": grid, "kind": kind, "rule": rule, "after": after}
    await audit_overdue(services, caller, filters, page)
    return page


@get(
    "/api/reports",
    summary="A day's report for the caller's units",
    responses=problems(400, 401, 403, 404),
)
async def get_report(
    services: ServicesDep, caller: Caller, day: FromQuery[date | None] = None
) -> DailyReport:
    """The figures of `day` (default: the latest reported day) per unit."""
    caller.require(Permission.READ_RECORDS)
    async with services.database.connect() as connection:
        report = await report_of(connection, caller.grids, day)
    detail = {"day": report.day.isoformat(), "units": [unit.unit for unit in report.units]}
    await _audit(services, caller, "report.viewed", detail)
    return report


ROUTES = [list_overdue, get_report]
