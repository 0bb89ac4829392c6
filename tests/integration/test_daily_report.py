"""The daily report counts a day's visits, needs, cases and the open overdue flags per grid,
rolls them up to communities and the street, stores them, writes CSV and XLSX files that
read back the same, and a re-run changes no row and no byte. The API shows each caller its
own units only."""

import csv
import io
import uuid
from datetime import datetime, time, timedelta
from pathlib import Path
from typing import Any

import openpyxl
import sqlalchemy as sa

from server.access.roles import Role
from server.db.record_tables import visits
from server.db.report_tables import daily_reports
from server.jobs import overdue, report
from server.jobs.overdue import LOCAL
from server.jobs.report_figures import FIGURES
from server.jobs.report_files import HEADERS
from tablet import Tablet

from .harness import TWO_COMMUNITIES, Harness, org, person, running_app, session_headers
from .test_overdue import community_tablet, job_context
from .test_projection import settled

ORDER = ["S1", "C1", "G1", "G2", "C2", "G3"]  # the tree, parents first


def figures(**given: float) -> dict[str, float]:
    counted = {name: 0.0 for name in FIGURES if name != "resolution_rate"}
    return counted | {name: float(value) for name, value in given.items()}


G1 = figures(
    visits=3, needs_collected=3, needs_resolved=1, cases=3, cases_resolved=2,
    resolution_rate=0.6667, cases_type_neighbours=2, cases_type_renovation=1,
    cases_status_resolved=1, cases_status_mediating=1, cases_status_closed=1,
    overdue_follow_ups=1, overdue_needs=1, overdue_cases=1, overdue_total=3,
)  # fmt: skip
G2 = figures(
    visits=1, needs_collected=1, needs_resolved=1, cases=1, resolution_rate=0.0,
    cases_type_unset=1, cases_status_registered=1,
)  # fmt: skip
G3 = figures(visits=2, cases=1, resolution_rate=0.0, cases_type_consumer=1, cases_status_failed=1)


def summed(*units: dict[str, float]) -> dict[str, float]:
    total = {name: sum(unit.get(name, 0.0) for unit in units) for name in FIGURES}
    total["resolution_rate"] = round(total["cases_resolved"] / total["cases"], 4)
    return total


EXPECTED = {"G1": G1, "G2": G2, "G3": G3, "C1": summed(G1, G2), "C2": summed(G3)}
EXPECTED["S1"] = summed(G1, G2, G3)


async def seed(harness: Harness, tmp_path: Path) -> tuple[datetime, list[Tablet]]:
    """A day D's records in G1, G2 (a coordinator's tablet) and G3, and some of D-1 and D+1
    that the report of D must leave out. Returns the nightly run's time: D+1 at 02:00."""
    await org(harness, *TWO_COMMUNITIES)
    c1 = await community_tablet(harness, tmp_path / "c1.sqlite3")
    g3, _ = await harness.tablet(tmp_path / "g3.sqlite3", "G3")
    start = datetime.now(LOCAL)
    day = start.date()
    on = lambda offset: (start + timedelta(days=offset)).isoformat()  # noqa: E731
    date_of = lambda offset: (day + timedelta(days=offset)).isoformat()  # noqa: E731

    def visit(tablet: Tablet, grid: str, offset: int, *needs: dict[str, Any], **more: Any) -> None:
        fields = {"household": str(uuid.uuid4()), "visited_at": on(offset), "needs": list(needs)}
        tablet.new_record("visit", grid, fields | more)

    repair = {"category": "repair", "status": "open"}
    visit(c1, "G1", 0, repair, {"category": "health", "status": "resolved"})
    visit(c1, "G1", 0, {"category": "sanitation", "status": "open", "deadline": date_of(-1)})
    visit(c1, "G1", 0, follow_up_due=date_of(-1))
    visit(c1, "G1", -1, {"category": "employment", "status": "open"})  # the day before
    visit(c1, "G2", 0, {"category": "childcare", "status": "resolved"})
    visit(g3, "G3", 0)
    visit(g3, "G3", 0)
    visit(g3, "G3", 1)  # the day after

    def case(tablet: Tablet, grid: str, **fields: Any) -> None:
        tablet.new_record("case", grid, {"title": "纠纷", **fields})

    case(c1, "G1", type="neighbours", status="resolved")
    case(c1, "G1", type="neighbours", status="mediating", deadline=date_of(-1))
    case(c1, "G1", type="renovation", status="closed")
    case(c1, "G2")
    case(g3, "G3", type="consumer", status="failed")
    for tablet in (c1, g3):
        await tablet.sync()
    await settled(harness)
    return datetime.combine(day + timedelta(days=1), time(2), LOCAL), [c1, g3]


async def stored(harness: Harness) -> list[tuple[Any, ...]]:
    async with harness.services.database.connect() as connection:
        rows = await connection.execute(
            sa.select(daily_reports).order_by(*daily_reports.primary_key)
        )
        return [tuple(row) for row in rows]


async def test_report_figures_files_and_a_rerun(database_url: str, tmp_path: Path) -> None:
    reports = tmp_path / "reports"
    async with running_app(database_url) as harness:
        now, tablets = await seed(harness, tmp_path)
        day = (now - timedelta(days=1)).date()
        context = job_context(harness, now, reports_dir=str(reports))
        await overdue.JOB.run(context)
        result = await report.JOB.run(context)
        assert result["day"] == day.isoformat() and result["units"] == 6
        assert sorted(result["files_written"]) == ["csv", "xlsx"]

        rows = await stored(harness)
        found: dict[str, dict[str, float]] = {}
        for row_day, unit, _level, figure, value in rows:
            assert row_day == day
            found.setdefault(unit, {})[figure] = value
        assert found == EXPECTED

        # Independent of the report's query: the visits of day D per grid, counted here.
        async with harness.services.database.connect() as connection:
            made = await connection.execute(sa.select(visits.c.grid, visits.c.visited_at))
            per_grid: dict[str, int] = {}
            for grid, at in made:
                if at.astimezone(LOCAL).date() == day:
                    per_grid[grid] = per_grid.get(grid, 0) + 1
        assert per_grid == {grid: int(EXPECTED[grid]["visits"]) for grid in ("G1", "G2", "G3")}

        csv_file, xlsx_file = reports / f"{day}.csv", reports / f"{day}.xlsx"
        raw = csv_file.read_bytes()
        assert raw.startswith(b"\xef\xbb\xbf")
        table = list(csv.reader(io.StringIO(raw.decode("utf-8-sig"))))
        assert table[0] == HEADERS and table[0][:3] == ["日期", "单位编码", "单位名称"]
        assert [line[1] for line in table[1:]] == ORDER
        g1 = dict(zip(table[0], table[3], strict=True))
        assert (g1["单位名称"], g1["层级"], g1["走访次数"], g1["化解率"]) == (
            "一网格",
            "网格",
            "3",
            "66.7%",
        )
        assert g1["逾期合计"] == "3" and g1["纠纷类型·邻里纠纷"] == "2"

        sheet = openpyxl.load_workbook(xlsx_file).active
        assert sheet is not None
        cells = [list(line) for line in sheet.iter_rows(values_only=True)]
        assert cells[0] == HEADERS and [line[1] for line in cells[1:]] == ORDER
        rate_at = HEADERS.index("化解率")
        assert [line[rate_at] for line in cells[1:]] == [
            EXPECTED[code].get("resolution_rate") for code in ORDER
        ]
        assert cells[3][HEADERS.index("走访次数")] == 3

        xlsx = xlsx_file.read_bytes()
        again = await report.JOB.run(context)
        assert (again["rows_changed"], again["files_written"]) == (0, [])
        assert await stored(harness) == rows
        assert csv_file.read_bytes() == raw and xlsx_file.read_bytes() == xlsx

        # A visit of day D synced late: the next run changes G2's, C1's and S1's count only.
        late = {
            "household": str(uuid.uuid4()),
            "visited_at": (now - timedelta(hours=12)).isoformat(),
        }
        tablets[0].new_record("visit", "G2", late)
        await tablets[0].sync()
        await settled(harness)
        third = await report.JOB.run(context)
        assert (third["rows_changed"], sorted(third["files_written"])) == (3, ["csv", "xlsx"])
        changed = set(await stored(harness)) - set(rows)
        assert {(unit, figure, value) for _, unit, _, figure, value in changed} == {
            ("G2", "visits", 2.0),
            ("C1", "visits", 5.0),
            ("S1", "visits", 7.0),
        }
        for tablet in tablets:
            await tablet.close()


async def test_the_api_shows_each_caller_its_own_units(database_url: str, tmp_path: Path) -> None:
    async with running_app(database_url) as harness:
        now, tablets = await seed(harness, tmp_path)
        context = job_context(harness, now, reports_dir=str(tmp_path / "reports"))
        await overdue.JOB.run(context)
        await report.JOB.run(context)
        day = (now - timedelta(days=1)).date().isoformat()
        people = {
            "C1": await person(harness, Role.COORDINATOR, ["C1"], "c1-coordinator"),
            "C2": await person(harness, Role.COORDINATOR, ["C2"], "c2-coordinator"),
            "S1": await person(harness, Role.STREET_OFFICER, ["S1"], "s1-officer"),
        }
        seen = {}
        for unit, someone in people.items():
            headers = await session_headers(harness, someone)
            answer = await harness.client.get("/api/reports", params={"day": day}, headers=headers)
            assert answer.status_code == 200, answer.text
            units = answer.json()["units"]
            seen[unit] = [entry["unit"] for entry in units]
            for entry in units:
                assert entry["figures"] == EXPECTED[entry["unit"]]
            flags = await harness.client.get("/api/overdue", headers=headers)
            assert flags.status_code == 200, flags.text
            assert {(f["grid"], f["rule"]) for f in flags.json()["items"]} == (
                set()
                if unit == "C2"
                else {("G1", "follow_up"), ("G1", "need_deadline"), ("G1", "case_deadline")}
            )
        assert seen == {
            "C1": ["C1", "G1", "G2"],
            "C2": ["C2", "G3"],
            "S1": ["S1", "C1", "C2", "G1", "G2", "G3"],  # by level, then code
        }

        headers = await session_headers(harness, people["S1"])
        missing = await harness.client.get(
            "/api/reports", params={"day": "2001-01-01"}, headers=headers
        )
        assert (missing.status_code, missing.json()["reason"]) == (404, "unknown_report")
        paged = await harness.client.get("/api/overdue", params={"limit": 2}, headers=headers)
        rest = await harness.client.get(
            "/api/overdue", params={"after": paged.json()["next"]}, headers=headers
        )
        assert len(paged.json()["items"]) == 2 and len(rest.json()["items"]) == 1
        assert rest.json()["next"] is None
        for tablet in tablets:
            await tablet.close()
