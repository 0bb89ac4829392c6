"""Every role × every credential × every endpoint, with records inside and outside its scope.

What each role may do and where is the design (docs/access.md) written down again here, on
purpose not read from server/access/roles.py: if the code drifts from the design, this test
says where. Every answer, allowed or not, is searched as raw bytes for strings that only
records outside the caller's scope hold (ids, grid codes, names, phone and ID numbers in full
and masked): nothing outside may leak, through lists, pages, counts, filters or errors.
Rows are a table: add one per endpoint (they live in access_matrix/, with the world they run
in and the probe that asks and searches).
"""

from pathlib import Path
from typing import Any

import sqlalchemy as sa

from server.access.roles import Role
from server.db.access_tables import (
    account_units,
    accounts,
    devices,
    enrollments,
    machine_tokens,
    org_units,
)
from server.db.tables import updates

from .access_matrix.probe import Probe, Row, answers, plain, reason, row
from .access_matrix.rows_feed import FEED_ROWS
from .access_matrix.rows_jobs import JOB_ROWS
from .access_matrix.rows_reports import REPORT_ROWS
from .access_matrix.rows_review import REVIEW_ROWS
from .access_matrix.rows_session_and_admin import ADMIN_ROWS, SESSION_ROWS
from .access_matrix.rows_sync_and_read import READ_ROWS, SYNC_ROWS
from .access_matrix.world import (
    ADMIN,
    DEVICE,
    DEVICES,
    MACHINE,
    READ,
    REVEAL,
    REVIEW,
    SESSION,
    SYNC,
    Who,
    World,
    seed,
)
from .harness import (
    Harness,
    Person,
    device_headers,
    machine_headers,
    person,
    running_app,
    session_headers,
)
from .test_projection import settled

# What the design says each role may do, where it is attached, and the grids it reaches.
DESIGN: dict[Role, set[str]] = {
    Role.GRID_MEMBER: {SYNC, READ},
    Role.GRID_LEADER: {SYNC, READ, REVEAL},
    Role.MEDIATOR: {SYNC, READ, REVEAL},
    Role.COORDINATOR: {SYNC, READ, REVEAL, REVIEW, DEVICES},
    Role.STREET_OFFICER: {READ, REVEAL, REVIEW},
    Role.ADMIN: {DEVICES, ADMIN},  # manages people and devices, reads no records
}
ATTACHED = {
    Role.GRID_MEMBER: ["G-A1"],
    Role.GRID_LEADER: ["G-A1"],
    Role.MEDIATOR: ["C-A"],
    Role.COORDINATOR: ["C-A"],
    Role.STREET_OFFICER: ["S-LP"],
    Role.ADMIN: [],
}
# The grids below those units, written out.
REACH = {
    Role.GRID_MEMBER: {"G-A1"},
    Role.GRID_LEADER: {"G-A1"},
    Role.MEDIATOR: {"G-A1", "G-A2"},
    Role.COORDINATOR: {"G-A1", "G-A2"},
    Role.STREET_OFFICER: {"G-A1", "G-A2", "G-B1", "G-B2"},
    Role.ADMIN: set(),
}
MACHINE_UNITS, MACHINE_REACH = ["C-A"], {"G-A1", "G-A2"}


async def callers(harness: Harness) -> list[Who]:
    found = []
    for role in Role:
        someone = await person(harness, role, ATTACHED[role], f"{role}-matrix")
        for kind, make in ((DEVICE, device_headers), (SESSION, session_headers)):

            async def mint(make: Any = make, someone: Person = someone) -> dict[str, str]:
                headers: dict[str, str] = await make(harness, someone)
                return headers

            can = DESIGN[role] | {kind}
            found.append(Who(f"{role}/{kind}", can, REACH[role], await mint(), mint, someone))

    async def machine() -> dict[str, str]:
        return await machine_headers(harness, MACHINE_UNITS)

    found.append(Who("machine", {READ, MACHINE}, MACHINE_REACH, await machine(), machine))

    async def nothing() -> dict[str, str]:
        return {}

    found.append(Who("nobody", set(), set(), {}, nothing))
    return found


ROWS = [
    *SYNC_ROWS,
    *READ_ROWS,
    row("GET /api/projection", {ADMIN}, plain("GET", "/api/projection"), answers(200)),
    row("GET /healthz", set(), plain("GET", "/healthz"), answers(200)),
    row("GET /readyz", set(), plain("GET", "/readyz"), answers(200)),
    *SESSION_ROWS,
    *ADMIN_ROWS,
    *REVIEW_ROWS,
    *JOB_ROWS,
    *REPORT_ROWS,
    *FEED_ROWS,
]


async def snapshot(harness: Harness) -> str:
    """What a refused request must leave as it was: documents, the org tree, accounts,
    devices, tokens and enrollments (not the times of last use, which any request moves)."""
    kept = [
        sa.select(sa.func.count()).select_from(updates),
        sa.select(org_units),
        sa.select(account_units),
        sa.select(accounts.c.id, accounts.c.role, accounts.c.display_name, accounts.c.disabled_at),
        sa.select(devices.c.id, devices.c.name, devices.c.token_hash, devices.c.revoked_at),
        sa.select(machine_tokens.c.id, machine_tokens.c.token_hash, machine_tokens.c.revoked_at),
        sa.select(enrollments.c.code_hash, enrollments.c.used_at),
    ]
    async with harness.services.database.connect() as connection:
        return repr([sorted(map(tuple, await connection.execute(query))) for query in kept])


async def run(world: World, who: Who, line: Row) -> list[str]:
    harness = world.harness
    probe = Probe(world, who, await who.mint() if line.fresh else who.headers)
    ask = await line.make(probe)
    before = await snapshot(harness) if ask.method != "GET" else ""
    response = await probe.send(ask)
    permitted = line.need <= who.can
    problems = [f"leaks {leak}" for leak in probe.leaks]
    try:
        if permitted:
            await line.allowed(probe, response, ask)
        else:
            expected = line.refused(who, line.need)
            assert (response.status_code, reason(response)) == expected, response.text[:300]
            if before:
                assert await snapshot(harness) == before, "a refused request changed something"
    except AssertionError as error:
        first = (str(error).splitlines() or ["?"])[0][:300]
        problems.append(f"{'allowed' if permitted else 'refused'}: {first}")
    if line.writes and permitted:
        await settled(harness)
    return [f"{who.label} × {line.name}: {problem}" for problem in problems]


async def test_every_role_every_endpoint_inside_and_outside_its_scope(
    database_url: str, tmp_path: Path
) -> None:
    async with running_app(database_url) as harness:
        world = await seed(harness, tmp_path)
        everyone = await callers(harness)
        problems = []
        for who in everyone:
            for line in ROWS:
                problems += await run(world, who, line)
        assert not problems, f"{len(problems)} wrong:\n" + "\n".join(problems)
