"""The dashboard's charts show what the database holds for the coordinator's own grids
(checked against SQL counted here, not by the dashboard's queries), nothing of another
community's, and each view is audited."""

from collections import Counter
from datetime import UTC, date, datetime, time, timedelta
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

import sqlalchemy as sa

from server.access.audit import SYSTEM
from server.access.roles import Role
from server.console.render import SHANGHAI
from server.db.access_tables import audit_log, devices
from server.db.record_tables import cases, conflicts, visit_needs, visits
from tablet import Tablet

from .harness import PASSWORD, TWO_COMMUNITIES, Harness, Person, org, running_app, session_headers
from .test_projection import HOUSEHOLD, settled

Figures = dict[str, dict[str, dict[str, int]]]
A, B = ("G1", "G2"), ("G3",)
TODAY = datetime.now(SHANGHAI).date()


class Charts(HTMLParser):
    """Every chart's figures table (chart → category → series → value) and every stat."""

    def __init__(self) -> None:
        super().__init__()
        self.charts: Figures = {}
        self.stats: dict[str, int] = {}
        self._chart = self._category = ""
        self.text = ""

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        seen = {name: value or "" for name, value in attrs}
        if "data-chart" in seen:
            self._chart = seen["data-chart"]
            self.charts[self._chart] = {}
        if "data-stat" in seen:
            self.stats[seen["data-stat"]] = int(seen["data-value"])
        if tag == "tr" and "data-category" in seen:
            self._category = seen["data-category"]
        if tag == "td" and "data-series" in seen:
            row = self.charts[self._chart].setdefault(self._category, {})
            row[seen["data-series"]] = int(seen["data-value"])


def day(days_ago: int, hour: int = 10) -> str:
    return datetime.combine(TODAY - timedelta(days=days_ago), time(hour), SHANGHAI).isoformat()


def deadline(days_ago: int) -> str:
    return (TODAY - timedelta(days=days_ago)).isoformat()


async def world(harness: Harness) -> tuple[dict[str, str], dict[str, str]]:
    """Street S1 → community C1 (grids G1, G2) and C2 (grid G3); their coordinators."""
    access = harness.services.access
    await org(harness, *TWO_COMMUNITIES)
    sessions = []
    for username, unit in [("zhang", "C1"), ("zhao", "C2")]:
        account = await access.accounts.create(
            username, username, Role.COORDINATOR, [unit], PASSWORD, SYSTEM
        )
        sessions.append(await session_headers(harness, Person(account, username, Role.COORDINATOR)))
    return sessions[0], sessions[1]


def seed_grid(tablet: Tablet, grid: str, scale: int) -> str:
    """Visits, needs and cases in `grid`, `scale` of some; returns a household's id."""
    home = tablet.new_record("household", grid, {**HOUSEHOLD, "room": f"{grid}01"})
    needs = [
        {"category": "elderly_care", "text": "送餐", "status": "open", "deadline": deadline(2)},
        {"category": "repair", "text": "修灯", "status": "resolved", "deadline": deadline(9)},
        {"category": "elderly_care", "text": "助浴", "status": "handed_over"},
    ]
    for n in range(scale):
        fields = {"household": home.id, "visited_at": day(1), "purpose": "care_visit"}
        tablet.new_record("visit", grid, {**fields, "needs": needs if n == 0 else []})
    tablet.new_record("visit", grid, {"household": home.id, "visited_at": day(3, hour=23)})
    tablet.new_record("visit", grid, {"household": home.id, "visited_at": day(45)})  # before
    tablet.new_record("case", grid, {"title": "噪音", "type": "neighbours", "status": "resolved"})
    tablet.new_record(
        "case",
        grid,
        {
            "title": "装修漏水",
            "type": "renovation",
            "level": "community",
            "status": "mediating",
            "deadline": deadline(5),
        },
    )
    for _ in range(scale):
        tablet.new_record("case", grid, {"title": "物业费", "type": "property_management"})
    return home.id


async def conflicted(harness: Harness, tmp_path: Path, grid: str) -> None:
    """Two tablets of `grid` change one phone number offline: an open conflict."""
    alice, _ = await harness.tablet(tmp_path / f"{grid}a.sqlite3", grid, "甲")
    bob, _ = await harness.tablet(tmp_path / f"{grid}b.sqlite3", grid, "乙")
    home = alice.new_record("household", grid, {**HOUSEHOLD, "phone": "13800000000"})
    await alice.sync()
    await bob.sync()
    alice.record(home.id).set("phone", "13811111111")
    bob.record(home.id).set("phone", "13922222222")
    for tablet in (alice, bob, alice):
        await tablet.sync()
    for tablet in (alice, bob):
        await tablet.close()


async def silent(harness: Harness, grid: str, name: str, last_sync_days: int | None) -> None:
    """A device of `grid` enrolled 10 days ago, last synced `last_sync_days` ago (or never)."""
    await harness.token(grid, name)
    now = datetime.now(UTC)
    synced = now - timedelta(days=last_sync_days) if last_sync_days is not None else None
    async with harness.services.database.begin() as connection:
        await connection.execute(
            devices.update()
            .where(devices.c.name == f"{name}的平板")
            .values(created_at=now - timedelta(days=10), last_sync_at=synced)
        )


# --- What SQL says, counted here ----------------------------------------------------------


async def rows(harness: Harness, query: Any) -> list[dict[str, Any]]:
    async with harness.services.database.connect() as connection:
        return [dict(row) for row in (await connection.execute(query)).mappings()]


def in_period(moment: datetime, since: date, until: date) -> bool:
    return since <= moment.astimezone(SHANGHAI).date() <= until


async def expected(harness: Harness, grids: tuple[str, ...], since: date, until: date) -> Figures:
    all_visits = await rows(harness, sa.select(visits).where(visits.c.grid.in_(grids)))
    chosen = {
        v["doc_id"]: v
        for v in all_visits
        if in_period(v["visited_at"] or v["created_at"], since, until)
    }
    per_day: Figures = {"visits_per_day": {}, "needs": {}}
    for visit in chosen.values():
        local = (visit["visited_at"] or visit["created_at"]).astimezone(SHANGHAI).date()
        row = per_day["visits_per_day"].setdefault(local.isoformat(), {})
        row[visit["grid"]] = row.get(visit["grid"], 0) + 1
    for need in await rows(harness, sa.select(visit_needs)):
        if need["doc_id"] in chosen:
            row = per_day["needs"].setdefault(need["category"], {})
            row[need["status"]] = row.get(need["status"], 0) + 1
    all_cases = await rows(harness, sa.select(cases).where(cases.c.grid.in_(grids)))
    chosen_cases = [c for c in all_cases if in_period(c["created_at"], since, until)]
    for column in ("type", "level", "status"):
        counted = Counter(case[column] for case in chosen_cases)
        per_day[f"cases_by_{column}"] = {code: {"n": n} for code, n in counted.items()}
    resolved = sum(case["status"] in ("resolved", "closed") for case in chosen_cases)
    per_day["resolution"] = {
        "resolved": {"n": resolved},
        "unresolved": {"n": len(chosen_cases) - resolved},
    }
    return per_day


async def expected_stats(harness: Harness, grids: tuple[str, ...]) -> dict[str, int]:
    today = TODAY
    all_cases = await rows(harness, sa.select(cases).where(cases.c.grid.in_(grids)))
    in_grids = {
        v["doc_id"]
        for v in await rows(harness, sa.select(visits.c.doc_id, visits.c.grid))
        if v["grid"] in grids
    }
    needs = [n for n in await rows(harness, sa.select(visit_needs)) if n["doc_id"] in in_grids]
    documents_in = await rows(harness, sa.text("SELECT id, grid FROM documents"))
    ours = {d["id"] for d in documents_in if d["grid"] in grids}
    open_conflicts = [
        c
        for c in await rows(harness, sa.select(conflicts))
        if c["status"] == "open" and c["doc_id"] in ours
    ]
    return {
        "overdue_cases": sum(
            bool(
                c["deadline"]
                and c["deadline"] < today
                and c["status"] not in ("resolved", "closed")
            )
            for c in all_cases
        ),
        "overdue_needs": sum(
            bool(n["deadline"] and n["deadline"] < today and n["status"] != "resolved")
            for n in needs
        ),
        "open_conflicts": len(open_conflicts),
    }


def without_zeros(charts: Figures) -> Figures:
    return {
        name: {
            category: {series: n for series, n in row.items() if n}
            for category, row in chart.items()
            if any(row.values())
        }
        for name, chart in charts.items()
    }


async def dashboard(harness: Harness, headers: dict[str, str], **params: str) -> Charts:
    response = await harness.client.get("/console/dashboard", params=params, headers=headers)
    assert response.status_code == 200, response.text
    parsed = Charts()
    parsed.feed(response.text)
    parsed.text = response.text
    return parsed


async def test_the_charts_show_what_sql_counts_for_the_coordinators_grids_only(
    database_url: str, tmp_path: Path
) -> None:
    async with running_app(database_url) as harness:
        zhang, zhao = await world(harness)
        for grid, scale in [("G1", 2), ("G2", 1), ("G3", 4)]:
            tablet, _ = await harness.tablet(tmp_path / f"{grid}.sqlite3", grid, f"{grid}员")
            seed_grid(tablet, grid, scale)
            await tablet.sync()
            await tablet.close()
        await conflicted(harness, tmp_path, "G1")
        await conflicted(harness, tmp_path, "G3")
        await silent(harness, "G1", "老设备", None)
        await silent(harness, "G2", "旧平板", 5)
        await silent(harness, "G2", "新平板", 1)
        await silent(harness, "G3", "别处的", None)
        await settled(harness)

        since, until = TODAY - timedelta(days=29), TODAY
        seen = await dashboard(harness, zhang)
        charts = without_zeros(seen.charts)
        assert charts == await expected(harness, A, since, until)
        # And what the seed says, in case both sides are wrong the same way.
        assert charts["visits_per_day"][deadline(1)] == {"G1": 2, "G2": 1}
        assert charts["visits_per_day"][deadline(3)] == {"G1": 1, "G2": 1}
        assert len(charts["visits_per_day"]) == 2  # 45 days ago is outside the period
        assert charts["needs"] == {
            "elderly_care": {"open": 2, "handed_over": 2},
            "repair": {"resolved": 2},
        }
        assert charts["cases_by_type"]["property_management"] == {"n": 3}
        assert charts["cases_by_level"] == {"grid": {"n": 5}, "community": {"n": 2}}
        assert charts["resolution"] == {"resolved": {"n": 2}, "unresolved": {"n": 5}}
        assert "29%" in seen.text
        stats = await expected_stats(harness, A)
        assert (
            {k: seen.stats[k] for k in stats}
            == stats
            == {
                "overdue_cases": 2,
                "overdue_needs": 2,
                "open_conflicts": 1,
            }
        )
        assert seen.stats["silent_devices"] == 2
        page = seen.text
        assert "老设备的平板" in page and "旧平板的平板" in page and "新平板的平板" not in page
        # Community B's records and devices are nowhere on A's dashboard.
        assert "G3" not in page and "别处的" not in page

        other = await dashboard(harness, zhao)
        assert without_zeros(other.charts) == await expected(harness, B, since, until)
        assert without_zeros(other.charts)["visits_per_day"][deadline(1)] == {"G3": 4}
        assert other.stats == {**await expected_stats(harness, B), "silent_devices": 1}

        # A grid and a period narrow it; another community's grid shows nothing.
        narrow = without_zeros(
            (await dashboard(harness, zhang, grid="G2", since=deadline(2))).charts
        )
        assert narrow == await expected(harness, ("G2",), TODAY - timedelta(days=2), TODAY)
        assert narrow["visits_per_day"] == {deadline(1): {"G2": 1}}
        empty = await dashboard(harness, zhang, grid="G3")
        assert all(chart == {} for chart in without_zeros(empty.charts).values())
        assert "G3" not in empty.text.split("</select>")[-1]

        async with harness.services.database.connect() as connection:
            views = (
                (
                    await connection.execute(
                        sa.select(audit_log).where(audit_log.c.action == "dashboard.viewed")
                    )
                )
                .mappings()
                .all()
            )
        assert [view["username"] for view in views] == ["zhang", "zhao", "zhang", "zhang"]
        assert views[2]["detail"] == {
            "since": deadline(2),
            "until": TODAY.isoformat(),
            "grid": "G2",
            "days": 3,
        }


async def test_the_console_lands_on_the_dashboard_in_either_language(
    database_url: str, tmp_path: Path
) -> None:
    async with running_app(database_url) as harness:
        zhang, _ = await world(harness)
        response = await harness.client.get("/console", headers=zhang)
        assert (response.status_code, response.headers["location"]) == (303, "/console/dashboard")
        chinese = await harness.client.get("/console/dashboard", headers=zhang)
        assert "工作概览" in chinese.text and "本期无数据" in chinese.text
        english = await harness.client.get("/console/dashboard?lang=en", headers=zhang)
        assert (
            "Visits per day, by grid" in english.text and "No data in this period" in english.text
        )
        wrong = await harness.client.get(
            "/console/dashboard",
            params={"since": "2026-12-01", "until": "2026-11-01"},
            headers=zhang,
        )
        assert wrong.status_code == 400 and "<html" in wrong.text
        anonymous = await harness.client.get("/console/dashboard")
        assert (anonymous.status_code, anonymous.headers["location"]) == (303, "/console/login")
