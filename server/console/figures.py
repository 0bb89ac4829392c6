"""The dashboard's figures: counts over the record projection, for some grids and a period.

A period is whole days in Asia/Shanghai, `until` included. A visit and its needs fall on
the day it was made (`visited_at`, else when its record was created: the projected
`happened_at`); a case in the period it was registered (`created_at`). Overdue items, open
conflicts and silent devices are the state as of now, whatever the period: they are what
needs doing today.

Each figure reads one index range per grid (`(grid, happened_at)` on visits, covering ones
on `visit_needs`, which carries its visit's grid and time): no join over the history.
"""

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection

from server.access.org import grids_under_units
from server.console.render import SHANGHAI
from server.db.access_tables import account_units, accounts, devices
from server.db.record_tables import cases, conflicts, visit_needs, visits
from server.db.tables import documents

# A case counts as resolved once settled, and still so once closed after that.
RESOLVED_CASES = ("resolved", "closed")
Count = dict[str, int]


@dataclass(frozen=True, slots=True)
class Period:
    since: date
    until: date  # included

    @property
    def start(self) -> datetime:
        return datetime.combine(self.since, time(), SHANGHAI).astimezone(UTC)

    @property
    def end(self) -> datetime:
        return datetime.combine(self.until + timedelta(days=1), time(), SHANGHAI).astimezone(UTC)

    def days(self) -> list[str]:
        count = (self.until - self.since).days + 1
        return [(self.since + timedelta(days=n)).isoformat() for n in range(count)]


@dataclass(frozen=True, slots=True)
class SilentDevice:
    name: str
    username: str
    last_sync_at: datetime | None


@dataclass(slots=True)
class Figures:
    # day → grid → visits
    visits_per_day: dict[str, Count] = field(default_factory=dict)
    # need category → status → needs
    needs: dict[str, Count] = field(default_factory=dict)
    cases_by_type: Count = field(default_factory=dict)
    cases_by_level: Count = field(default_factory=dict)
    cases_by_status: Count = field(default_factory=dict)
    cases_total: int = 0
    cases_resolved: int = 0
    overdue_cases: int = 0
    overdue_needs: int = 0
    open_conflicts: int = 0
    silent_devices: list[SilentDevice] = field(default_factory=list)


def _local_day(
    connection: AsyncConnection, column: sa.ColumnElement[datetime]
) -> sa.ColumnElement[str]:
    """The Asia/Shanghai day of a stored UTC time (no daylight saving: a fixed +8 h)."""
    if connection.dialect.name == "postgresql":
        local = sa.func.timezone("Asia/Shanghai", column)
        return sa.cast(sa.func.to_char(local, "YYYY-MM-DD"), sa.String)
    return sa.func.date(column, "+8 hours")


def _nested(rows: Iterable[sa.Row[Any, Any, Any]]) -> dict[str, Count]:
    found: dict[str, Count] = defaultdict(dict)
    for row in rows:
        outer, inner, count = row
        found[outer or ""][inner or ""] = count
    return dict(found)


async def _visits_per_day(
    connection: AsyncConnection, grids: frozenset[str], period: Period
) -> dict[str, Count]:
    day = _local_day(connection, visits.c.happened_at).label("day")
    query = (
        sa.select(day, visits.c.grid, sa.func.count())
        .where(
            visits.c.grid.in_(grids),
            visits.c.happened_at >= period.start,
            visits.c.happened_at < period.end,
        )
        .group_by(day, visits.c.grid)
    )
    return _nested(await connection.execute(query))


async def _needs(
    connection: AsyncConnection, grids: frozenset[str], period: Period
) -> dict[str, Count]:
    query = (
        sa.select(visit_needs.c.category, visit_needs.c.status, sa.func.count())
        .where(
            visit_needs.c.grid.in_(grids),
            visit_needs.c.happened_at >= period.start,
            visit_needs.c.happened_at < period.end,
        )
        .group_by(visit_needs.c.category, visit_needs.c.status)
    )
    return _nested(await connection.execute(query))


def _cases_in(grids: frozenset[str], period: Period) -> sa.ColumnElement[bool]:
    return sa.and_(
        cases.c.grid.in_(grids),
        cases.c.created_at >= period.start,
        cases.c.created_at < period.end,
    )


async def _cases_by(
    connection: AsyncConnection, column: sa.Column[str], grids: frozenset[str], period: Period
) -> Count:
    query = sa.select(column, sa.func.count()).where(_cases_in(grids, period)).group_by(column)
    return {code or "": count for code, count in await connection.execute(query)}


async def _overdue_cases(connection: AsyncConnection, grids: frozenset[str], today: date) -> int:
    query = sa.select(sa.func.count()).where(
        cases.c.grid.in_(grids),
        cases.c.deadline < today,
        sa.func.coalesce(cases.c.status, "registered").not_in(RESOLVED_CASES),
    )
    return int((await connection.execute(query)).scalar_one())


async def _overdue_needs(connection: AsyncConnection, grids: frozenset[str], today: date) -> int:
    """Needs not resolved (open, or handed over) past their deadline: the index entries of
    the grids' needs whose deadline has passed, nothing else."""
    query = sa.select(sa.func.count()).where(
        visit_needs.c.grid.in_(grids),
        visit_needs.c.deadline < today,
        sa.func.coalesce(visit_needs.c.status, "open") != "resolved",
    )
    return int((await connection.execute(query)).scalar_one())


async def _open_conflicts(connection: AsyncConnection, grids: frozenset[str]) -> int:
    query = (
        sa.select(sa.func.count())
        .select_from(conflicts.join(documents, documents.c.id == conflicts.c.doc_id))
        .where(documents.c.grid.in_(grids), conflicts.c.status == "open")
    )
    return int((await connection.execute(query)).scalar_one())


async def _silent_devices(
    connection: AsyncConnection, grids: frozenset[str], now: datetime, days: int
) -> list[SilentDevice]:
    """Devices not revoked that have not synced for `days` (never: since enrolment), of
    accounts whose every grid is in `grids`. Few devices are silent: each is checked."""
    cutoff = now - timedelta(days=days)
    query = (
        sa.select(devices.c.name, accounts.c.username, devices.c.last_sync_at, accounts.c.id)
        .join(accounts, accounts.c.id == devices.c.account_id)
        .where(
            devices.c.revoked_at.is_(None),
            sa.func.coalesce(devices.c.last_sync_at, devices.c.created_at) < cutoff,
        )
        .order_by(devices.c.last_sync_at.nulls_first(), devices.c.name)
    )
    found = []
    for name, username, last_sync_at, account_id in await connection.execute(query):
        units = await connection.execute(
            sa.select(account_units.c.unit).where(account_units.c.account_id == account_id)
        )
        theirs = await grids_under_units(connection, units.scalars())
        if theirs and theirs <= grids:
            found.append(SilentDevice(name, username, last_sync_at))
    return found


async def figures(
    connection: AsyncConnection,
    grids: frozenset[str],
    period: Period,
    now: datetime,
    silent_days: int,
) -> Figures:
    today = now.astimezone(SHANGHAI).date()
    by_status = await _cases_by(connection, cases.c.status, grids, period)
    return Figures(
        visits_per_day=await _visits_per_day(connection, grids, period),
        needs=await _needs(connection, grids, period),
        cases_by_type=await _cases_by(connection, cases.c.type, grids, period),
        cases_by_level=await _cases_by(connection, cases.c.level, grids, period),
        cases_by_status=by_status,
        cases_total=sum(by_status.values()),
        cases_resolved=sum(by_status.get(status, 0) for status in RESOLVED_CASES),
        overdue_cases=await _overdue_cases(connection, grids, today),
        overdue_needs=await _overdue_needs(connection, grids, today),
        open_conflicts=await _open_conflicts(connection, grids),
        silent_devices=await _silent_devices(connection, grids, now, silent_days),
    )
