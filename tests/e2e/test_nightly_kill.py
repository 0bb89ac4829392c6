"""The compact and verify jobs killed with SIGKILL half-way, in a real process, beside a
real server that tablets keep syncing with; run again, they finish, no update is lost and
the tablets converge."""

import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from pycrdt import Doc

from bench.nightly import fill
from server.db.engine import make_engine
from server.db.record_tables import visits
from server.db.tables import documents, updates
from sync.layout import to_plain
from tablet import Tablet

from .conftest import ServerProcess

pytestmark = pytest.mark.slow
GRID = "G-nightly-kill"
STORED = 20_000  # updates filled straight into the log, besides the tablets' own

# The job in a process of its own, as `doorstep jobs run` would run it but without the
# runner's lock (a killed holder's lease would make the second run wait for it to lapse).
CHILD = """
import asyncio, json, sys
from datetime import UTC, datetime
from server.db.engine import make_engine
from server.db.update_store import SqlUpdateStore
from server.jobs.base import JobContext
from server.jobs.registry import JOBS
from server.records.projection import Projector
from server.settings import Settings
from sync import SyncEngine

class Printed:
    def update(self, done, total=None, note=""):
        print("progress", done, total, flush=True)

async def main(url, name):
    engine = make_engine(url)
    context = JobContext(
        engine, SyncEngine(SqlUpdateStore(engine)), Projector(engine),
        Settings(database_url=url), datetime.now(UTC), Printed(),
    )
    figures = await JOBS[name].run(context)
    print("figures", json.dumps(figures), flush=True)
    await engine.dispose()

asyncio.run(main(sys.argv[1], sys.argv[2]))
"""


def start_job(url: str, name: str) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-c", CHILD, url, name], stdout=subprocess.PIPE, text=True
    )


def progress(process: subprocess.Popen[str]) -> Iterator[tuple[int, int]]:
    assert process.stdout is not None
    for line in process.stdout:
        if line.startswith("progress"):
            _, done, total = line.split()
            yield int(done), int(total)


def kill_half_way(url: str, name: str) -> None:
    process = start_job(url, name)
    try:
        for done, total in progress(process):
            if done >= total // 3:
                assert done < total, "the job finished before it could be killed"
                break
        assert process.poll() is None, "the job ended before it could be killed"
    finally:
        process.kill()
        process.wait()
        assert process.stdout is not None
        process.stdout.close()
    assert process.returncode == -9


def run_to_the_end(url: str, name: str) -> str:
    done = subprocess.run(
        [sys.executable, "-c", CHILD, url, name], capture_output=True, text=True, timeout=600
    )
    assert done.returncode == 0, done.stderr[-3000:]
    return done.stdout.splitlines()[-1]


async def contents(url: str) -> dict[str, Any]:
    engine = make_engine(url)
    docs: dict[str, Doc[Any]] = {}
    try:
        async with engine.connect() as connection:
            query = sa.select(updates.c.doc_id, updates.c.data).order_by(updates.c.seq)
            for doc_id, data in await connection.execute(query):
                docs.setdefault(doc_id, Doc()).apply_update(data)
    finally:
        await engine.dispose()
    return {doc_id: to_plain(doc) for doc_id, doc in docs.items()}


async def scalar(url: str, query: sa.Select[Any]) -> Any:
    engine = make_engine(url)
    try:
        async with engine.connect() as connection:
            return (await connection.execute(query)).scalar_one()
    finally:
        await engine.dispose()


async def execute(url: str, *statements: sa.Executable) -> None:
    engine = make_engine(url)
    try:
        async with engine.begin() as connection:
            for statement in statements:
                await connection.execute(statement)
    finally:
        await engine.dispose()


async def test_compaction_killed_half_way_then_run_again_loses_nothing(
    server: ServerProcess, database_url: str, tmp_path: Path
) -> None:
    filled = await fill(database_url, STORED)
    writer = Tablet(tmp_path / "w.sqlite3", server.url, server.add_device(GRID), "网格员")
    early = Tablet(tmp_path / "e.sqlite3", server.url, server.add_device(GRID), "调解员")
    case = writer.new_record("case", GRID, {"title": "楼上漏水"})
    await writer.sync()
    await early.sync()  # its cursor predates everything below
    for index in range(40):  # 41 rows: past the nightly bound, short of the push path's
        case.add_note(f"第{index}次回访")
        await writer.sync()
    before = await contents(database_url)
    many_rows = sa.select(sa.func.count()).where(documents.c.update_count > 1)
    assert await scalar(database_url, many_rows) == filled.documents + 1

    kill_half_way(database_url, "compact")
    left = await scalar(database_url, many_rows)
    assert 0 < left < filled.documents + 1  # killed half-way indeed
    case.add_note("压缩中断后写入")  # a push between the two runs
    await writer.sync()
    assert '"skipped": 0' in run_to_the_end(database_url, "compact")

    # The case may have been squashed by the first run: the later note is then its second row.
    assert await scalar(database_url, many_rows.where(documents.c.id != case.id)) == 0
    case_rows = sa.select(documents.c.update_count).where(documents.c.id == case.id)
    assert await scalar(database_url, case_rows) <= 2
    after = await contents(database_url)
    assert after.keys() == before.keys()
    assert all(after[d] == before[d] for d in filled.doc_ids)
    assert after[case.id] == case.to_plain()
    await early.sync()
    assert early.record(case.id).to_plain() == case.to_plain()
    assert len(early.record(case.id).notes) == 41
    for tablet in (writer, early):
        await tablet.close()


async def test_verification_killed_half_way_then_run_again_repairs_everything(
    server: ServerProcess, database_url: str, tmp_path: Path
) -> None:
    filled = await fill(database_url, STORED)
    writer = Tablet(tmp_path / "w.sqlite3", server.url, server.add_device(GRID), "网格员")
    visit = writer.new_record("visit", GRID, {"findings": "门口堆放杂物"})
    await writer.sync()
    # Drift spread over the whole id range: some repaired before the kill, some after.
    spoiled = sorted(filled.doc_ids)[:: len(filled.doc_ids) // 10]
    await execute(
        database_url,
        visits.update().where(visits.c.doc_id.in_(spoiled)).values(findings="篡改"),
        documents.update()
        .where(documents.c.id.in_(spoiled))
        .values(projected_seq=documents.c.head_seq + 7),
    )
    before = await contents(database_url)

    kill_half_way(database_url, "verify")
    visit.set("findings", "杂物已清理")  # a push between the two runs
    await writer.sync()
    last = run_to_the_end(database_url, "verify")
    assert '"documents_repaired": 0,' not in last  # what the first run had not reached

    assert '"documents_repaired": 0,' in run_to_the_end(database_url, "verify")
    after = await contents(database_url)
    assert all(after[d] == before[d] for d in filled.doc_ids)
    tampered = sa.select(sa.func.count()).select_from(visits).where(visits.c.findings == "篡改")
    assert await scalar(database_url, tampered) == 0
    ahead = sa.select(sa.func.count()).where(documents.c.projected_seq > documents.c.head_seq)
    assert await scalar(database_url, ahead) == 0
    reader = Tablet(tmp_path / "r.sqlite3", server.url, server.add_device(GRID), "调解员")
    await reader.sync()
    assert reader.record(visit.id).to_plain() == visit.to_plain()
    for tablet in (writer, reader):
        await tablet.close()
