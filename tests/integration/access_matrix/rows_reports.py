"""Rows for the nightly jobs' results: open overdue flags and daily reports, each showing a
caller its own grids' flags and the units whose every grid it reaches, nothing else."""

from datetime import UTC, datetime, timedelta

import httpx

from server.jobs.overdue import find_overdue, local_day, store_flags
from server.jobs.overdue_rules import BUILT_IN
from server.jobs.report import store_report
from server.jobs.report_figures import unit_figures

from .probe import Ask, Probe, Row, expect, row
from .rows_session_and_admin import grids_below
from .world import READ, SEEDED, TREE

# A month on, every seeded case (registered, never accepted) is overdue.
MONTH_ON = datetime.now(UTC) + timedelta(days=30)
TODAY = local_day(datetime.now(UTC))


async def flags_a_month_on(p: Probe) -> Ask:
    database = p.world.harness.services.database
    flags = await find_overdue(database, BUILT_IN, local_day(MONTH_ON))
    await store_flags(database, flags, MONTH_ON)  # the same flags each time: no change
    return Ask("GET", "/api/overdue")


async def flags_outside(p: Probe) -> Ask:
    ask = await flags_a_month_on(p)
    ask.params = {"grid": p.who.foreign}
    return ask


async def own_flags(p: Probe, response: httpx.Response, ask: Ask) -> None:
    expect(response, 200)
    items = response.json()["items"]
    assert all(item["grid"] in p.who.grids for item in items), items
    cases = {p.world.seeded[grid]["cases"] for grid in p.who.grids & set(SEEDED)}
    assert cases <= {item["doc_id"] for item in items}, "a case of the caller's grids missing"


async def no_flags(p: Probe, response: httpx.Response, ask: Ask) -> None:
    expect(response, 200)
    assert response.json() == {"items": [], "next": None}


async def todays_report(p: Probe) -> Ask:
    database = p.world.harness.services.database
    async with database.connect() as connection:
        units = await unit_figures(connection, TODAY)
    await store_report(database, TODAY, units)
    return Ask("GET", "/api/reports", params={"day": TODAY.isoformat()})


async def own_units(p: Probe, response: httpx.Response, ask: Ask) -> None:
    expect(response, 200)
    # Units the admin rows add to the tree are not the design's: look at the tree's own.
    shown = {unit["unit"] for unit in response.json()["units"]} & {u.code for u in TREE}
    reached = {u.code for u in TREE if (g := grids_below([u.code])) and g <= p.who.grids}
    assert shown == reached, (sorted(shown), sorted(reached))


REPORT_ROWS: list[Row] = [
    row("GET /api/overdue", {READ}, flags_a_month_on, own_flags),
    row("GET /api/overdue?grid=<outside>", {READ}, flags_outside, no_flags),
    row("GET /api/reports?day=", {READ}, todays_report, own_units),
]
