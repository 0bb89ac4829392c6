"""The overdue job flags what is overdue as of its frozen clock, on records real tablets
wrote; a second run changes nothing; resolving a thing clears its flag; a rules file
replaces the built-in rules; the console page shows a caller its own grids' flags only (the
API's scoping: test_daily_report.py and the access matrix)."""

import uuid
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
import sqlalchemy as sa
from pycrdt import Array, Map

from server.access.audit import SYSTEM
from server.access.roles import Role
from server.db.report_tables import overdue_items
from server.jobs.base import JobContext, NoProgress
from server.jobs.overdue import JOB, LOCAL
from server.jobs.overdue_rules import RulesError
from server.settings import NightlySettings, Settings
from tablet import Tablet
from tablet.record import Record

from .harness import BASE, TWO_COMMUNITIES, Harness, org, person, running_app, session_headers
from .test_projection import settled

# A flag as a test states it: (record name, rule, item, days overdue).
Expected = set[tuple[str, str, int, int]]


def job_context(harness: Harness, now: datetime, **nightly: Any) -> JobContext:
    settings: Settings = harness.app.state.settings
    settings = replace(settings, nightly=replace(NightlySettings(), **nightly))
    services = harness.services
    return JobContext(
        services.database, services.sync, services.projection.projector, settings, now, NoProgress()
    )


def write_status_at(record: Record, status: str, at: datetime) -> None:
    """A status write stamped `at` by the tablet's clock (a tablet app's own log entry)."""
    with record.edit():
        record.doc.get("fields", type=Map)["status"] = status
        entry = {"id": str(uuid.uuid4()), "f": "status", "v": status, "by": "调解员"}
        entry |= {"at": at.isoformat(), "prev": record.current_writes("status")}
        record.doc.get("log", type=Array).append(entry)


class Seeded:
    """Records with follow-ups, needs and cases due around `today`, in grids G1 and G2."""

    def __init__(self, tablet: Tablet, start: datetime) -> None:
        self.tablet, self.start = tablet, start
        self.today = start.astimezone(LOCAL).date()
        self.ids: dict[str, str] = {}

    def day(self, offset: int) -> str:
        return (self.today + timedelta(days=offset)).isoformat()

    def add(self, name: str, kind: str, grid: str, fields: dict[str, Any]) -> Record:
        record = self.tablet.new_record(kind, grid, fields)
        self.ids[name] = record.id
        return record

    def visit(self, name: str, household: str, follow_up: int | None, **fields: Any) -> None:
        fields.setdefault("visited_at", self.start.astimezone(LOCAL).isoformat())
        if follow_up is not None:
            fields["follow_up_due"] = self.day(follow_up)
        self.add(name, "visit", fields.pop("grid", "G1"), {"household": household, **fields})

    def seed(self) -> None:
        homes = [str(uuid.uuid4()) for _ in range(5)]
        need = lambda category, status="open", deadline=None: {  # noqa: E731
            "category": category,
            "text": f"{category}诉求",
            "status": status,
            **({"deadline": self.day(deadline)} if deadline is not None else {}),
        }
        needs = [
            need("repair"),  # no deadline: small, due tomorrow
            need("employment"),  # large: due in 15 days
            need("health", "handed_over", -3),  # handed over is not resolved
            need("sanitation", "resolved", -3),  # resolved: never overdue
            need("elderly_care"),  # medium: due in 7 days
        ]
        self.visit("yesterday", homes[0], -1, needs=needs)
        self.visit("today", homes[1], 0, grid="G2")
        self.visit("tomorrow", homes[2], 1)
        earlier = (self.start - timedelta(days=3)).astimezone(LOCAL).isoformat()
        self.visit("followed", homes[3], -2, visited_at=earlier)
        self.visit("follow-up", homes[3], None)  # the later visit to the same household
        self.visit("undated", homes[4], None, visited_at=None, needs=[need("repair", deadline=-1)])
        self.add(
            "late", "case", "G1", {"title": "噪音", "status": "mediating", "deadline": self.day(-1)}
        )
        self.add(
            "closed", "case", "G1", {"title": "漏水", "status": "closed", "deadline": self.day(-1)}
        )
        self.add(
            "settled",
            "case",
            "G2",
            {"title": "停车", "status": "resolved", "deadline": self.day(-5)},
        )
        self.add("registered", "case", "G2", {"title": "装修", "status": "registered"})
        self.add("accepted", "case", "G1", {"title": "物业", "status": "accepted"})
        accepted_later = self.add("accepted-later", "case", "G1", {"title": "欠薪"})
        write_status_at(accepted_later, "accepted", self.start + timedelta(days=2))


async def flags(harness: Harness, ids: dict[str, str], *, cleared: bool = False) -> Expected:
    names = {doc_id: name for name, doc_id in ids.items()}
    condition = (
        overdue_items.c.cleared_at.is_not(None) if cleared else overdue_items.c.cleared_at.is_(None)
    )
    async with harness.services.database.connect() as connection:
        rows = await connection.execute(
            sa.select(
                overdue_items.c.record_id,
                overdue_items.c.rule,
                overdue_items.c.item,
                overdue_items.c.days_overdue,
            ).where(condition)
        )
        return {(names.get(d, d), rule, item, days) for d, rule, item, days in rows}


async def table(harness: Harness) -> list[tuple[Any, ...]]:
    async with harness.services.database.connect() as connection:
        rows = await connection.execute(
            sa.select(overdue_items).order_by(*overdue_items.primary_key)
        )
        return [tuple(row) for row in rows]


async def community_tablet(harness: Harness, path: Path) -> Tablet:
    """A coordinator's tablet serving community C1 (grids G1 and G2)."""
    someone = await person(harness, Role.COORDINATOR, ["C1"], f"c1-{uuid.uuid4().hex[:6]}")
    device = await harness.services.access.devices.add(someone.account_id, "平板", SYSTEM)
    http = httpx.AsyncClient(transport=harness.network(), base_url=BASE)
    return Tablet(path, BASE, device.token, author="社区", http=http)


async def seeded(harness: Harness, tmp_path: Path) -> Seeded:
    await org(harness, *TWO_COMMUNITIES)
    tablet = await community_tablet(harness, tmp_path / "tablet.sqlite3")
    records = Seeded(tablet, datetime.now(UTC).replace(microsecond=0))
    records.seed()
    await tablet.sync()
    await settled(harness)
    return records


# Overdue at the start: yesterday's follow-up, the handed-over need past its deadline, the
# undated visit's need past its own deadline, the mediating case past its deadline.
AT_START: Expected = {
    ("yesterday", "follow_up", 0, 1),
    ("yesterday", "need_deadline", 2, 3),
    ("undated", "need_deadline", 0, 1),
    ("late", "case_deadline", 0, 1),
}
# Eight days on: the same, older; today's and tomorrow's follow-ups; the repair (1 day) and
# elderly-care (7 days) needs without deadlines; the cases registered (3 days) and accepted
# (7 days) at the start. Not: the case accepted two days in (its field history says so),
# the employment need (15 days), anything resolved or closed, the followed-up visit.
EIGHT_DAYS_ON: Expected = {
    ("yesterday", "follow_up", 0, 9),
    ("yesterday", "need_deadline", 2, 11),
    ("undated", "need_deadline", 0, 9),
    ("late", "case_deadline", 0, 9),
    ("today", "follow_up", 0, 8),
    ("tomorrow", "follow_up", 0, 7),
    ("yesterday", "need_small", 0, 7),
    ("yesterday", "need_medium", 4, 1),
    ("registered", "case_registered", 0, 5),
    ("accepted", "case_accepted", 0, 1),
}


async def test_flags_at_two_frozen_times_a_rerun_and_resolving(
    database_url: str, tmp_path: Path
) -> None:
    async with running_app(database_url) as harness:
        records = await seeded(harness, tmp_path)
        start = records.start
        figures = await JOB.run(job_context(harness, start))
        assert await flags(harness, records.ids) == AT_START
        assert (figures["overdue"], figures["new"], figures["cleared"]) == (4, 4, 0)
        assert figures["by_grid"] == {"G1": 4}
        first = await table(harness)

        again = await JOB.run(job_context(harness, start))
        assert await table(harness) == first, "a second run at the same time changed rows"
        assert (again["new"], again["updated"], again["cleared"]) == (0, 0, 0)

        later = start + timedelta(days=8)
        figures = await JOB.run(job_context(harness, later))
        assert await flags(harness, records.ids) == EIGHT_DAYS_ON
        assert figures["by_rule"]["follow_up"] == 3 and figures["by_grid"]["G2"] == 2
        flagged_at = {row[0]: row[7] for row in await table(harness) if row[1] == "case_deadline"}
        assert flagged_at == {records.ids["late"]: start}, "a flag keeps the time it was raised"

        # The mediator settles the late case, the need is resolved: their flags clear.
        tablet = records.tablet
        tablet.record(records.ids["late"]).set("status", "resolved")
        visit = tablet.record(records.ids["yesterday"])
        needs = visit.get("needs")
        needs[2]["status"] = "resolved"
        visit.set("needs", needs)
        await tablet.sync()
        await settled(harness)
        cleared_at = later + timedelta(minutes=5)
        figures = await JOB.run(job_context(harness, cleared_at))
        gone = {("late", "case_deadline", 0, 9), ("yesterday", "need_deadline", 2, 11)}
        assert await flags(harness, records.ids) == EIGHT_DAYS_ON - gone
        assert await flags(harness, records.ids, cleared=True) == gone
        assert (figures["new"], figures["updated"], figures["cleared"]) == (0, 0, 2)
        await tablet.close()


async def test_a_rules_file_replaces_the_built_in_rules(database_url: str, tmp_path: Path) -> None:
    rules = tmp_path / "rules.json"
    rules.write_text(
        '{"sizes": {"same_day": 0, "month": 30}, "need_sizes": {"repair": "same_day"},'
        ' "default_need_size": "month", "case_status_days": {"mediating": 0},'
        ' "follow_up": false}',
        encoding="utf-8",
    )
    async with running_app(database_url) as harness:
        records = await seeded(harness, tmp_path)
        await JOB.run(
            job_context(harness, records.start + timedelta(days=1), overdue_rules=str(rules))
        )
        assert await flags(harness, records.ids) == {
            ("yesterday", "need_deadline", 2, 4),
            ("undated", "need_deadline", 0, 2),
            ("late", "case_deadline", 0, 2),
            ("yesterday", "need_same_day", 0, 1),  # repair: due the day of the visit
            ("late", "case_mediating", 0, 1),  # mediating: no day allowed
        }

        rules.write_text('{"need_sizes": {"repair": "instant"}}', encoding="utf-8")
        with pytest.raises(RulesError, match="size 'instant' is used but not defined"):
            await JOB.run(job_context(harness, records.start, overdue_rules=str(rules)))
        await records.tablet.close()


async def test_the_console_lists_the_callers_flags_linked_to_their_records(
    database_url: str, tmp_path: Path
) -> None:
    async with running_app(database_url) as harness:
        records = await seeded(harness, tmp_path)
        await JOB.run(job_context(harness, records.start + timedelta(days=8)))
        g2 = await person(harness, Role.COORDINATOR, ["G2"], "g2-coordinator")
        c2 = await person(harness, Role.COORDINATOR, ["C2"], "c2-coordinator")

        answer = await harness.client.get(
            "/console/overdue", headers=await session_headers(harness, g2)
        )
        assert answer.status_code == 200, answer.text
        page = answer.text
        assert 'data-count="2"' in page
        assert f'href="/console/cases/{records.ids["registered"]}"' in page
        assert f'href="/console/visits/{records.ids["today"]}"' in page
        assert "纠纷处于“登记”超过规定天数" in page and "回访逾期" in page
        assert records.ids["late"] not in page  # G1's

        english = await harness.client.get(
            "/console/overdue",
            params={"kind": "case", "lang": "en"},
            headers=await session_headers(harness, g2),
        )
        assert 'data-count="1"' in english.text
        assert "Dispute left at “Registered” too long" in english.text

        none = await harness.client.get(
            "/console/overdue", headers=await session_headers(harness, c2)
        )
        assert 'data-count="0"' in none.text and "没有逾期事项" in none.text
        await records.tablet.close()
