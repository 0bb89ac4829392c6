"""The daily report's figures: counted per grid, then rolled up the org tree.

Definitions follow the dashboard's (server/console/figures.py): a visit falls on the local
day it was made (`visited_at`, else its record's creation), its needs with it; a case on
the day it was registered (`created_at`); a case counts as resolved once its status is
resolved or closed, and the resolution rate is resolved / registered. The overdue counts
are the overdue flags open when the report is made (the `overdue` job runs just before).
"""

from collections import Counter, defaultdict
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection

from schemas.enums import CaseStatus, CaseType
from server.access.org import Level
from server.db.access_tables import org_units
from server.db.record_tables import cases, visit_needs, visits
from server.db.report_tables import overdue_items
from server.jobs.overdue import LOCAL

RESOLVED_CASES = (CaseStatus.RESOLVED.value, CaseStatus.CLOSED.value)
RATE = "resolution_rate"
UNTYPED = "cases_type_unset"

# Figure code → its zh-CN column header, in report order.
FIGURES: dict[str, str] = {
    "visits": "走访次数",
    "needs_collected": "收集诉求",
    "needs_resolved": "已解决诉求",
    "cases": "新登记纠纷",
    "cases_resolved": "已化解纠纷",
    RATE: "化解率",
    **{f"cases_type_{t.value}": f"纠纷类型·{t.label}" for t in CaseType},
    UNTYPED: "纠纷类型·未填写",
    **{f"cases_status_{s.value}": f"纠纷状态·{s.label}" for s in CaseStatus},
    "overdue_follow_ups": "逾期回访",
    "overdue_needs": "逾期诉求",
    "overdue_cases": "逾期纠纷",
    "overdue_total": "逾期合计",
}


@dataclass(frozen=True, slots=True)
class UnitFigures:
    code: str
    name: str
    level: str
    parent: str | None
    figures: dict[str, float]  # every figure of FIGURES; the rate only when cases were made


def day_bounds(day: date) -> tuple[datetime, datetime]:
    start = datetime.combine(day, time(), LOCAL)
    return start.astimezone(UTC), (start + timedelta(days=1)).astimezone(UTC)


async def _per_grid(connection: AsyncConnection, day: date) -> dict[str, Counter[str]]:
    start, end = day_bounds(day)
    counts: dict[str, Counter[str]] = defaultdict(Counter)
    when = sa.func.coalesce(visits.c.visited_at, visits.c.created_at)
    made = sa.and_(when >= start, when < end)
    for grid, n in await connection.execute(
        sa.select(visits.c.grid, sa.func.count()).where(made).group_by(visits.c.grid)
    ):
        counts[grid]["visits"] += n
    resolved = sa.case((visit_needs.c.status == "resolved", 1), else_=0)
    for grid, n, done in await connection.execute(
        sa.select(visits.c.grid, sa.func.count(), sa.func.sum(resolved))
        .join(visits, visits.c.doc_id == visit_needs.c.doc_id)
        .where(made)
        .group_by(visits.c.grid)
    ):
        counts[grid].update(needs_collected=n, needs_resolved=int(done or 0))
    status = sa.func.coalesce(cases.c.status, "registered")
    for grid, kind, current, n in await connection.execute(
        sa.select(cases.c.grid, cases.c.type, status, sa.func.count())
        .where(cases.c.created_at >= start, cases.c.created_at < end)
        .group_by(cases.c.grid, cases.c.type, status)
    ):
        known_type = CaseType.parse(kind)
        known_status = CaseStatus.parse(current)
        counts[grid]["cases"] += n
        counts[grid][f"cases_type_{known_type.value}" if known_type else UNTYPED] += n
        if known_status:
            counts[grid][f"cases_status_{known_status.value}"] += n
        if current in RESOLVED_CASES:
            counts[grid]["cases_resolved"] += n
    await _overdue(connection, counts)
    return counts


async def _overdue(connection: AsyncConnection, counts: dict[str, Counter[str]]) -> None:
    """Overdue things, each once: a case past its deadline and stuck is one overdue case."""
    rows = await connection.execute(
        sa.select(
            overdue_items.c.grid,
            overdue_items.c.record_id,
            overdue_items.c.rule,
            overdue_items.c.item,
        ).where(overdue_items.c.cleared_at.is_(None))
    )
    things = {
        (grid or "", _overdue_figure(rule), doc_id, item) for grid, doc_id, rule, item in rows
    }
    for grid, figure, _, _ in things:
        counts[grid][figure] += 1
        counts[grid]["overdue_total"] += 1


def _overdue_figure(rule: str) -> str:
    if rule == "follow_up":
        return "overdue_follow_ups"
    return "overdue_needs" if rule.startswith("need_") else "overdue_cases"


async def unit_figures(connection: AsyncConnection, day: date) -> list[UnitFigures]:
    """Every unit of the org tree, parents before children, with its grids' figures summed."""
    per_grid = await _per_grid(connection, day)
    units = (await connection.execute(sa.select(org_units).order_by(org_units.c.code))).all()
    parent_of = {unit.code: unit.parent for unit in units}
    totals: dict[str, Counter[str]] = defaultdict(Counter)
    for unit in units:
        if unit.level != Level.GRID:
            continue
        code: str | None = unit.code
        while code is not None:
            totals[code].update(per_grid.get(unit.code, Counter()))
            code = parent_of.get(code)
    children: dict[str | None, list[sa.Row[tuple[str, str, str, str | None]]]] = defaultdict(list)
    for unit in units:
        children[unit.parent if unit.parent in parent_of else None].append(unit)
    ordered: list[UnitFigures] = []

    def visit(parent: str | None) -> None:
        for unit in children[parent]:
            ordered.append(_with_rate(unit.code, unit.name, unit.level, unit.parent, totals))
            visit(unit.code)

    visit(None)
    return ordered


def _with_rate(
    code: str, name: str, level: str, parent: str | None, totals: dict[str, Counter[str]]
) -> UnitFigures:
    counts = totals.get(code, Counter())
    figures = {figure: float(counts[figure]) for figure in FIGURES if figure != RATE}
    if counts["cases"]:
        figures[RATE] = round(counts["cases_resolved"] / counts["cases"], 4)
    return UnitFigures(code, name, level, parent, figures)
