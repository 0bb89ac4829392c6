"""The coordinator console's page times with 100,000 visits in the database (issue 5:
"Pages load under 300 ms server time").

    uv run --frozen python -m bench.console                        # 100,000 visits, SQLite
    uv run --frozen python -m bench.console --database postgresql  # a throwaway database

Rows are inserted straight into the projection tables (with each record's `documents`
row, which the dashboard's conflict count joins), not synced through documents: the
console reads only those, so the figures are about its queries and page rendering, not
sync. Households, visits (with needs) and cases, with notes, field history, a few open
conflicts and validation issues, in Chinese, spread over 90 days and 12 grids (one street,
3 communities). A coordinator of one community (4 grids, a third of the rows) logs in
and asks for each page `--warmup` times, then `--repeat` times timed, one request at a
time on loopback against a real `doorstep serve` process: the wall time at the client,
and the `Server-Timing` header's figures when the server sends one (it does not now).
"""

import argparse
import asyncio
import html
import re
import statistics
import tempfile
import uuid
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from pathlib import Path
from random import Random
from time import perf_counter
from typing import Any

import httpx
import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncEngine

from bench.harness import PG_ADMIN_URL, Database, ServerProcess, machine, revision
from bench.workload import _GIVEN, _STREETS, _SURNAMES, _long_text
from schemas import enums
from server.access.audit import SYSTEM
from server.access.authenticate import Access
from server.access.org import Level, Unit
from server.access.roles import Role
from server.db import record_tables  # noqa: F401  (registers the projection tables)
from server.db.engine import make_engine, write_transaction
from server.db.migrate import upgrade_async
from server.db.tables import metadata
from server.settings import get_settings

TARGET_S = 0.3
DAYS = 90
SHANGHAI = timedelta(hours=8)
GRIDS = [f"sq{c}-wg{g}" for c in (1, 2, 3) for g in (1, 2, 3, 4)]
REVIEWS = (None, None, None, "approved", "approved", "sent_back", "edited")
PASSWORD = "console-bench-password"
CONTESTED = {"visit": "findings", "household": "head_name", "case": "description"}
ISSUE = {"path": "phone", "message": "电话号码格式不正确"}
Rows = defaultdict[str, list[dict[str, Any]]]


@dataclass(slots=True)
class Times:
    wall: list[float] = field(default_factory=list)
    server: list[float] = field(default_factory=list)  # from `Server-Timing`, when sent


def _name(rng: Random) -> str:
    return rng.choice(_SURNAMES) + "".join(rng.choices(_GIVEN, k=rng.randint(1, 2)))


def _phone(rng: Random) -> str:
    return f"1{rng.choice('3589')}{rng.randrange(10**9):09d}"


def _add(rows: Rows, table: str, doc_id: str, items: list[dict[str, Any]]) -> None:
    rows[table].extend({"doc_id": doc_id, "position": n, **item} for n, item in enumerate(items))


def _record(
    rows: Rows, rng: Random, kind: str, grid: str, at: datetime, main: dict[str, Any]
) -> str:
    """A main row with its `documents` row, one history entry per field written, and now
    and then an open conflict (1 %) or a validation issue (2 %)."""
    doc_id = str(uuid.UUID(int=rng.getrandbits(128), version=4))
    author = f"{grid}-m{rng.randint(1, 3)}"
    conflicted, issues = rng.random() < 0.01, int(rng.random() < 0.02)
    state = {"issue_count": issues, "has_conflict": conflicted, "review_state": rng.choice(REVIEWS)}
    rows[f"{kind}s"].append({"doc_id": doc_id, "grid": grid, "created_by": author, **main, **state})
    written = [
        (k, v.isoformat() if isinstance(v, date) else v) for k, v in main.items() if v is not None
    ]
    if conflicted:  # a field written on two tablets at once
        contested = CONTESTED[kind]
        written.append((contested, _name(rng) if kind == "household" else _long_text(rng, 40, 120)))
        entries = [
            {"entry_id": f"{doc_id[:8]}-{n}", "value": value, "by": author, "at": at.isoformat()}
            for n, (name, value) in enumerate(written)
            if name == contested
        ]
        rows["conflicts"].append(
            {"doc_id": doc_id, "conflict_id": doc_id[:8], "field": contested, "status": "open"}
            | {"entries": entries, "current_value": entries[0]["value"], "resolved_by": None}
        )
    history = [
        {"entry_id": f"{doc_id[:8]}-{n}", "field": name, "value": value, "by": author}
        | {"at": at + timedelta(seconds=n), "prev": []}
        for n, (name, value) in enumerate(written)
    ]
    _add(rows, "field_history", doc_id, history)
    _add(rows, "validation_issues", doc_id, [ISSUE] * issues)
    rows["documents"].append(
        {"id": doc_id, "kind": kind, "grid": grid, "created_by": author, "created_at": at}
        | {"updated_at": at, "head_seq": 1, "projected_seq": 1, "update_count": len(written)}
        | {"byte_size": 2_000}
    )
    return doc_id


def _notes(rng: Random, at: datetime, count: int, mediation: bool) -> list[dict[str, Any]]:
    return [
        {"note_id": f"n{n}", "by": _name(rng), "at": at + timedelta(days=n)}
        | {"kind": "mediation" if mediation else "note", "text": _long_text(rng, 60, 200)}
        | {"method": rng.choice(list(enums.MediationMethod)) if mediation else None}
        | {"extra": {"next_step": _long_text(rng, 10, 30)} if mediation else {}}
        for n in range(count)
    ]


def _household(rows: Rows, rng: Random, grid: str, at: datetime) -> str:
    main = {
        "created_at": at,
        "compound": rng.choice(_STREETS) + rng.choice(("小区", "花园", "家园", "新村")),
        "building": f"{rng.randint(1, 30)}号楼",
        "unit": f"{rng.randint(1, 4)}单元",
        "room": str(rng.randint(101, 1802)),
        "head_name": _name(rng),
        "phone": _phone(rng),
    }
    doc_id = _record(rows, rng, "household", grid, at, main)
    members = []
    for relation in ("户主", "配偶", "子女", "父母", "孙子女")[: rng.randint(1, 5)]:
        born = rng.randint(1935, 2022)
        birthday = f"{born}{rng.randint(1, 12):02d}{rng.randint(10, 28)}"
        id_number = f"310104{birthday}{rng.randrange(10**4):04d}"
        person = {"name": _name(rng), "relation": relation, "birth_year": born}
        members.append(person | {"id_number": id_number})
    _add(rows, "household_members", doc_id, members)
    tags = rng.sample(list(enums.HouseholdTag), rng.choice((0, 1, 1, 2, 3)))
    _add(rows, "household_tags", doc_id, [{"tag": tag} for tag in tags])
    return doc_id


def _visit(rows: Rows, rng: Random, grid: str, at: datetime, household: str) -> None:
    main = {
        "created_at": at,
        "household": household,
        "visitor": _name(rng),
        "visited_at": at,
        "gps_lat": 31.2 + rng.random() / 50,
        "gps_lon": 121.4 + rng.random() / 50,
        "purpose": rng.choices(list(enums.VisitPurpose), (8, 3, 2, 2, 1, 2, 2))[0],
        "findings": _long_text(rng, 40, 200),
        "follow_up_due": at.date() + timedelta(days=14) if rng.random() < 0.2 else None,
    }
    doc_id = _record(rows, rng, "visit", grid, at, main)
    rows["visits"][-1]["happened_at"] = at  # projected, not a field: no history entry
    needs = [
        {"category": rng.choice(list(enums.NeedCategory)), "text": _long_text(rng, 10, 40)}
        | {"status": rng.choice(list(enums.NeedStatus)), "deadline": at.date() + timedelta(days=14)}
        | {"grid": grid, "happened_at": at}
        for _ in range(rng.choice((0, 0, 0, 1, 2)))
    ]
    _add(rows, "visit_needs", doc_id, needs)
    _add(rows, "record_notes", doc_id, _notes(rng, at, int(rng.random() < 0.1), mediation=False))


def _case(rows: Rows, rng: Random, grid: str, at: datetime) -> None:
    status = rng.choice(list(enums.CaseStatus))
    done = status in (enums.CaseStatus.RESOLVED, enums.CaseStatus.CLOSED)
    main = {
        "created_at": at,
        "title": _long_text(rng, 8, 24),
        "type": rng.choice(list(enums.CaseType)),
        "place": f"{rng.choice(_STREETS)}{rng.randint(1, 300)}号",
        "occurred_at": at,
        "description": _long_text(rng, 100, 300),
        "level": rng.choices(list(enums.CaseLevel), (6, 3, 1))[0],
        "status": status,
        "deadline": at.date() + timedelta(days=30),
        "urgent": rng.random() < 0.1,
        "outcome": _long_text(rng, 20, 80) if done else None,
        "agreement": _long_text(rng, 40, 120) if done else None,
    }
    doc_id = _record(rows, rng, "case", grid, at, main)
    roles = ("applicant", "respondent")
    parties = [{"name": _name(rng), "role": role, "contact": _phone(rng)} for role in roles]
    _add(rows, "case_parties", doc_id, parties)
    _add(rows, "record_notes", doc_id, _notes(rng, at, rng.randint(1, 4), mediation=True))


def _when(rng: Random, now: datetime) -> datetime:
    """Working hours in Asia/Shanghai on one of the last `DAYS` days, never in the future."""
    day = datetime.combine((now + SHANGHAI).date(), time(8), UTC) - SHANGHAI
    at = day + timedelta(days=-rng.randrange(DAYS), minutes=rng.randrange(11 * 60))
    return min(at, now - timedelta(minutes=rng.randint(1, 600)))


async def fill(url: str, visits: int, seed: int) -> tuple[Counter[str], str]:
    """The schema, the org tree, the coordinator and the records: the rows inserted per
    table (and per kind in the coordinator's community), and a visit to show."""
    await upgrade_async(url)
    engine = make_engine(url)
    try:
        access = Access.build(engine, get_settings().login)
        units = [Unit("jd1", "幸福街道", Level.STREET)]
        units += [Unit(f"sq{c}", f"第{c}社区", Level.COMMUNITY, "jd1") for c in (1, 2, 3)]
        units += [Unit(grid, f"{grid}网格", Level.GRID, grid[:3]) for grid in GRIDS]
        await access.org.put(units, SYSTEM)
        await access.accounts.create(
            "coordinator", "社区工作人员", Role.COORDINATOR, ["sq1"], PASSWORD, SYSTEM
        )
        counts = await _insert(engine, visits, Random(seed))
        async with engine.connect() as connection:
            if connection.dialect.name == "postgresql":
                # As autovacuum would have by now (inserts trigger it too, PostgreSQL ≥ 13):
                # statistics, and the visibility map that lets index-only scans skip the heap.
                autocommit = await connection.execution_options(isolation_level="AUTOCOMMIT")
                await autocommit.execute(sa.text("VACUUM ANALYZE"))
            return counts, str(await connection.scalar(_SHOWN))
    finally:
        await engine.dispose()


async def _insert(engine: AsyncEngine, visits: int, rng: Random) -> Counter[str]:
    now, counts = datetime.now(UTC), Counter[str]()
    households: dict[str, list[str]] = defaultdict(list)
    plan = {"household": max(len(GRIDS), visits // 10), "case": visits // 30, "visit": visits}
    for kind, count in plan.items():
        for start in range(0, count, 2_000):  # one transaction each
            rows: Rows = defaultdict(list)
            for n in range(start, min(count, start + 2_000)):
                grid, at = GRIDS[n % len(GRIDS)], _when(rng, now)
                counts[f"{kind}s in scope"] += grid.startswith("sq1-")
                if kind == "household":
                    households[grid].append(_household(rows, rng, grid, at))
                elif kind == "case":
                    _case(rows, rng, grid, at)
                else:
                    _visit(rows, rng, grid, at, rng.choice(households[grid]))
            async with write_transaction(engine) as connection:
                for name, batch in rows.items():
                    await connection.execute(metadata.tables[name].insert(), batch)
                    counts[name] += len(batch)
    return counts


_VISITS, _NEEDS = metadata.tables["visits"], metadata.tables["visit_needs"]
# The detail page shown: a visit with needs and, as 1 % have, an open conflict.
_SHOWN = (
    sa.select(_VISITS.c.doc_id)
    .join(_NEEDS, _NEEDS.c.doc_id == _VISITS.c.doc_id)
    .where(_VISITS.c.grid == GRIDS[0])
    .order_by(_VISITS.c.has_conflict.desc(), _VISITS.c.created_at.desc())
    .limit(1)
)


# The timed part ---------------------------------------------------------------------------


async def _deep(client: httpx.AsyncClient, pages: int) -> str:
    """The visit list's page `pages`, reached by following the "next page" links."""
    path = "/console/visits"
    for _ in range(pages - 1):
        found = re.search(r'id="next-page" href="([^"]+)"', (await client.get(path)).text)
        if found is None:
            raise RuntimeError(f"the visit list ends before page {pages}")
        path = html.unescape(found.group(1))
    return path


async def measure(url: str, shown: str, options: argparse.Namespace) -> dict[str, Times]:
    """Each page's wall times at the client, and a `Server-Timing` header's largest `dur`
    where the server sends one."""
    since = (datetime.now(UTC) + SHANGHAI).date() - timedelta(days=DAYS - 1)
    async with httpx.AsyncClient(base_url=url, timeout=120) as client:
        login = {"username": "coordinator", "password": PASSWORD}
        (await client.post("/api/session", json=login)).raise_for_status()
        pages = {
            "dashboard, last 30 days (default)": "/console/dashboard",
            f"dashboard, last {DAYS} days": f"/console/dashboard?since={since}",
            "visits": "/console/visits",
            f"visits, grid {GRIDS[1]}": f"/console/visits?grid={GRIDS[1]}",
            "visits, purpose care_visit": "/console/visits?purpose=care_visit",
            f"visits, page {options.deep} (next links)": await _deep(client, options.deep),
            "visit detail": f"/console/visits/{shown}",
            "cases": "/console/cases",
            "households": "/console/households",
        }
        found = {name: Times() for name in pages}
        for name, path in pages.items():
            for n in range(options.warmup + options.repeat):
                started = perf_counter()
                response = await client.get(path)
                wall = perf_counter() - started
                if response.status_code != 200:
                    raise RuntimeError(f"{path}: {response.status_code} {response.text[:300]}")
                if n >= options.warmup:
                    found[name].wall.append(wall)
                    timing = re.findall(r"dur=([\d.]+)", response.headers.get("server-timing", ""))
                    found[name].server.extend([max(map(float, timing)) / 1000] if timing else [])
    return found


# The report -------------------------------------------------------------------------------


def _p95(samples: list[float]) -> float:
    return (
        statistics.quantiles(samples, n=20, method="inclusive")[-1] if samples[1:] else samples[0]
    )


def _ms(samples: list[float]) -> str:
    """p50, p95 and max in milliseconds."""
    figures = (statistics.median(samples), _p95(samples), max(samples))
    return " ".join(f"{seconds * 1000:7.1f}" for seconds in figures)


def render(
    options: argparse.Namespace, counts: Counter[str], fill_s: float, found: dict[str, Times]
) -> str:
    m = machine()
    scope = ", ".join(
        f"{counts.pop(f'{k} in scope'):,} {k}" for k in ("visits", "cases", "households")
    )
    lines = [
        f"doorstep console pages: {options.visits:,} visits, {options.database}, "
        f"seed {options.seed}; code {revision()}",
        f"machine: {m['cores']} cores, {m['cpu']}, {m['ram_gb']} GB RAM, "
        f"Python {m['python']}, {m['os']}",
        "rows inserted straight into the projection tables (the console reads only those), not "
        "synced through documents: the figures are page rendering and queries, not sync",
        "  " + ", ".join(f"{name} {count:,}" for name, count in counts.most_common()),
        f"  in {fill_s:.0f} s (untimed); the coordinator's community (sq1, 4 grids): {scope}",
        f"each page: {options.warmup} warm-ups, then {options.repeat} requests one at a time, "
        "wall time at a client on loopback, in ms",
        f"{'page':<40} {'p50':>7} {'p95':>7} {'max':>7}  p95 < {TARGET_S * 1000:.0f} ms",
    ]
    for name, times in found.items():
        verdict = "ok" if _p95(times.wall) < TARGET_S else "MISSED"
        server = f"  Server-Timing {_ms(times.server)}" if times.server else ""
        lines.append(f"{name:<40} {_ms(times.wall)}  {verdict}{server}")
    if not any(times.server for times in found.values()):
        lines.append("(no Server-Timing header from the server: these are the client's times)")
    return "\n".join(lines)


async def run(options: argparse.Namespace) -> str:
    with tempfile.TemporaryDirectory(prefix="doorstep-console-") as workdir:
        database = await Database.create(options.database, Path(workdir), options.pg_admin_url)
        try:
            print(f"filling {database.kind} with {options.visits:,} visits…", flush=True)
            started = perf_counter()
            counts, shown = await fill(database.url, options.visits, options.seed)
            fill_s = perf_counter() - started
            server = ServerProcess(database.url, Path(workdir) / "server.log")
            try:
                await server.wait_ready()
                print(f"server {server.url} (pid {server.pid}); timing pages…", flush=True)
                found = await measure(server.url, shown, options)
            except BaseException:
                print(f"--- server log (tail):\n{server.log_tail()}\n---")
                raise
            finally:
                server.stop()
            return render(options, counts, fill_s, found)
        finally:
            await database.drop()


def main() -> None:
    parser = argparse.ArgumentParser(description="The console's page times, 100,000 visits")
    parser.add_argument("--visits", type=int, default=100_000)
    parser.add_argument("--database", choices=("sqlite", "postgresql"), default="sqlite")
    parser.add_argument("--pg-admin-url", default=PG_ADMIN_URL)
    parser.add_argument("--warmup", type=int, default=2)
    parser.add_argument("--repeat", type=int, default=20)
    parser.add_argument("--deep", type=int, default=100, help="the visit list page to time")
    parser.add_argument("--seed", type=int, default=1)
    print(asyncio.run(run(parser.parse_args())))


if __name__ == "__main__":
    main()
