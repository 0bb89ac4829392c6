"""Flag overdue follow-ups, needs and cases by the configured rules.

Days are Asia/Shanghai dates: a thing due on a day is in time all that day and overdue from
the next (`due < today`), as the dashboard counts it. Flags are derived rows in
`overdue_items` (the records are not touched): each run compares what is overdue now with
the stored flags, inserts new ones, updates the days overdue, and clears the flags of what
is no longer overdue. A second run at the same `now` changes nothing.
"""

from collections import Counter
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from schemas.enums import CaseStatus
from server.db.engine import write_transaction
from server.db.record_tables import cases, field_history, visit_needs, visits
from server.db.report_tables import overdue_items
from server.jobs.base import Figures, JobContext
from server.jobs.overdue_rules import SETTLED, Rules, load_rules

LOCAL = ZoneInfo("Asia/Shanghai")
RECORD = 0  # `item` of a flag about a whole record (a need's flag holds its position)


def local_day(moment: datetime) -> date:
    return moment.astimezone(LOCAL).date()


@dataclass(frozen=True, slots=True)
class Flag:
    doc_id: str
    rule: str
    item: int
    kind: str
    grid: str | None
    due: date
    days_overdue: int

    @property
    def key(self) -> tuple[str, str, int]:
        return self.doc_id, self.rule, self.item


def _flag(
    doc_id: str, rule: str, item: int, kind: str, grid: str | None, due: date, today: date
) -> Flag | None:
    return Flag(doc_id, rule, item, kind, grid, due, (today - due).days) if due < today else None


async def _follow_ups(connection: AsyncConnection, today: date) -> list[Flag]:
    """Visits past their follow-up date that no later visit to the household followed."""
    when = sa.func.coalesce(visits.c.visited_at, visits.c.created_at)
    later = visits.alias("later")
    followed = sa.exists().where(
        later.c.household == visits.c.household,
        later.c.doc_id != visits.c.doc_id,
        sa.func.coalesce(later.c.visited_at, later.c.created_at) > when,
    )
    rows = await connection.execute(
        sa.select(visits.c.doc_id, visits.c.grid, visits.c.follow_up_due).where(
            visits.c.follow_up_due < today, ~followed
        )
    )
    found = (_flag(d, "follow_up", RECORD, "visit", g, due, today) for d, g, due in rows)
    return [flag for flag in found if flag]


async def _needs(connection: AsyncConnection, rules: Rules, today: date) -> list[Flag]:
    """Needs not resolved past their deadline, or past the rules' days after their visit."""
    when = sa.func.coalesce(visits.c.visited_at, visits.c.created_at)
    rows = await connection.execute(
        sa.select(
            visit_needs.c.doc_id,
            visit_needs.c.position,
            visit_needs.c.category,
            visit_needs.c.deadline,
            visits.c.grid,
            when,
        )
        .join(visits, visits.c.doc_id == visit_needs.c.doc_id)
        .where(
            sa.func.coalesce(visit_needs.c.status, "open") != "resolved",
            sa.or_(visit_needs.c.deadline < today, visit_needs.c.deadline.is_(None)),
        )
    )
    found = []
    for doc_id, position, category, deadline, grid, visited in rows:
        if deadline is not None:
            rule, due = "need_deadline", deadline
        elif visited is not None:
            size = rules.need_size(category)
            rule, due = f"need_{size}", local_day(visited) + timedelta(days=rules.sizes[size])
        else:
            continue  # no date to count from
        found.append(_flag(doc_id, rule, position, "visit", grid, due, today))
    return [flag for flag in found if flag]


async def _status_since(connection: AsyncConnection, stuck: list[str]) -> dict[str, datetime]:
    """When each case in a limited status was last given that status (its field history)."""
    status = sa.func.coalesce(cases.c.status, "registered")
    rows = await connection.execute(
        sa.select(field_history.c.doc_id, status, field_history.c.value, field_history.c.at)
        .join(cases, cases.c.doc_id == field_history.c.doc_id)
        .where(
            field_history.c.field == "status",
            field_history.c.at.is_not(None),
            status.in_(stuck),
        )
    )
    since: dict[str, datetime] = {}
    for doc_id, current, value, at in rows:
        if CaseStatus.parse(value) == current and (doc_id not in since or at > since[doc_id]):
            since[doc_id] = at
    return since


async def _cases(connection: AsyncConnection, rules: Rules, today: date) -> list[Flag]:
    """Cases not settled past their deadline, or longer in a status than the rules allow."""
    status = sa.func.coalesce(cases.c.status, "registered")
    rows = (
        await connection.execute(
            sa.select(
                cases.c.doc_id, cases.c.grid, status, cases.c.deadline, cases.c.created_at
            ).where(status.not_in(sorted(SETTLED)))
        )
    ).all()
    stuck = sorted(status.value for status in rules.case_status_days)
    since = await _status_since(connection, stuck) if stuck else {}
    found = []
    for doc_id, grid, current, deadline, created_at in rows:
        if deadline is not None:
            found.append(_flag(doc_id, "case_deadline", RECORD, "case", grid, deadline, today))
        known = CaseStatus.parse(current)
        days = rules.case_status_days.get(known) if known else None
        start = since.get(doc_id, created_at)
        if known and days is not None and start is not None:
            due = local_day(start) + timedelta(days=days)
            found.append(_flag(doc_id, f"case_{known}", RECORD, "case", grid, due, today))
    return [flag for flag in found if flag]


@dataclass(slots=True)
class Changes:
    new: int = 0
    updated: int = 0
    cleared: int = 0


async def store_flags(engine: AsyncEngine, flags: list[Flag], now: datetime) -> Changes:
    """Make `overdue_items` say `flags` are overdue and nothing else is, touching only the
    rows that differ (a flag keeps its `flagged_at` while it stays overdue)."""
    changes = Changes()
    inserts: list[dict[str, object]] = []
    updates: list[dict[str, object]] = []
    async with write_transaction(engine) as connection:
        stored = {
            (row.record_id, row.rule, row.item): row._asdict()
            for row in await connection.execute(sa.select(overdue_items))
        }
        for flag in flags:
            row = {
                "record_id": flag.doc_id,
                "rule": flag.rule,
                "item": flag.item,
                "kind": flag.kind,
                "grid": flag.grid,
                "due": flag.due,
                "days_overdue": flag.days_overdue,
                "flagged_at": now,
                "cleared_at": None,
            }
            old = stored.get(flag.key)
            if old is None:
                inserts.append(row)
                changes.new += 1
            elif old["cleared_at"] is not None:
                updates.append(row)
                changes.new += 1
            elif old != {**row, "flagged_at": old["flagged_at"]}:
                updates.append({**row, "flagged_at": old["flagged_at"]})
                changes.updated += 1
        overdue = {flag.key for flag in flags}
        for key, old in stored.items():
            if old["cleared_at"] is None and key not in overdue:
                updates.append({**old, "cleared_at": now})
                changes.cleared += 1
        if inserts:
            await connection.execute(overdue_items.insert(), inserts)
        if updates:
            await connection.execute(_UPDATE, [_keyed(row) for row in updates])
    return changes


# One statement for every changed row (executemany): the key is bound as `key_*`.
_UPDATE = (
    overdue_items.update()
    .where(
        overdue_items.c.record_id == sa.bindparam("key_record_id"),
        overdue_items.c.rule == sa.bindparam("key_rule"),
        overdue_items.c.item == sa.bindparam("key_item"),
    )
    .values(
        {
            name: sa.bindparam(name)
            for name in ("kind", "grid", "due", "days_overdue", "flagged_at", "cleared_at")
        }
    )
)


def _keyed(row: dict[str, object]) -> dict[str, object]:
    key = {f"key_{name}": row[name] for name in ("record_id", "rule", "item")}
    rest = {k: v for k, v in row.items() if k not in ("record_id", "rule", "item")}
    return key | rest


async def find_overdue(engine: AsyncEngine, rules: Rules, today: date) -> list[Flag]:
    async with engine.connect() as connection:
        found = await _needs(connection, rules, today) + await _cases(connection, rules, today)
        if rules.follow_up:
            found += await _follow_ups(connection, today)
    return found


class OverdueJob:
    name = "overdue"
    description = "Flag overdue follow-ups, needs and cases by the configured rules."

    async def run(self, context: JobContext) -> Figures:
        rules = load_rules(context.settings.nightly.overdue_rules)
        context.progress.update(0, 2, "finding overdue items")
        flags = await find_overdue(context.database, rules, local_day(context.now))
        context.progress.update(1, 2, "storing flags")
        changes = await store_flags(context.database, flags, context.now)
        context.progress.update(2, 2, "done")
        return {
            "rules": context.settings.nightly.overdue_rules or "built-in",
            "overdue": len(flags),
            "new": changes.new,
            "updated": changes.updated,
            "cleared": changes.cleared,
            "by_rule": dict(sorted(Counter(flag.rule for flag in flags).items())),
            "by_grid": dict(sorted(Counter(flag.grid or "" for flag in flags).items())),
        }


JOB = OverdueJob()
