"""Real server processes: two projecting the same documents at once on one PostgreSQL,
and one killed with SIGKILL half-way through a catch-up, end with the oracle's rows."""

import asyncio
import contextlib
import time
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from pycrdt import Doc

from schemas.decode import decode
from server.db import record_tables  # noqa: F401  (registers the record tables)
from server.db.engine import make_engine
from server.db.tables import documents, metadata, updates
from sync.layout import to_plain
from tablet import Tablet

from .conftest import ServerProcess

pytestmark = pytest.mark.slow
GRID = "G-projection"
RECORD_TABLES = [t for t in metadata.sorted_tables if "doc_id" in t.c and t.name != "updates"]


async def fill(server: ServerProcess, path: Path, count: int) -> None:
    async with Tablet(path, server.url, server.add_device(GRID), "网格员") as tablet:
        for index in range(count):
            record = tablet.new_record("visit", GRID, {"findings": f"第{index}户 🏠", "phone": "x"})
            record.add_note(f"回访 {index}")
        await tablet.sync()


async def forget_projection(database_url: str) -> None:
    engine = make_engine(database_url)
    async with engine.begin() as connection:
        await connection.execute(documents.update().values(projected_seq=0))
    await engine.dispose()


async def pending(database_url: str) -> int:
    engine = make_engine(database_url)
    try:
        async with engine.connect() as connection:
            behind = documents.c.head_seq > documents.c.projected_seq
            count: int = (
                await connection.execute(sa.select(sa.func.count()).where(behind))
            ).scalar_one()
            return count
    finally:
        await engine.dispose()


async def caught_up(database_url: str) -> None:
    # Read in the database: GET /api/projection is for admins, and these tests have none.
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        if await pending(database_url) == 0:
            return
        await asyncio.sleep(0.2)
    raise AssertionError("the projection did not catch up")


async def sql_equals_oracle(database_url: str) -> None:
    engine = make_engine(database_url)
    try:
        async with engine.connect() as connection:
            docs: dict[str, Doc[Any]] = {}
            for doc_id, data in await connection.execute(
                sa.select(updates.c.doc_id, updates.c.data).order_by(updates.c.seq)
            ):
                docs.setdefault(doc_id, Doc()).apply_update(data)
            assert docs
            for doc_id, doc in docs.items():
                expected = decode(doc_id, to_plain(doc)).tables()
                for table in RECORD_TABLES:
                    result = await connection.execute(
                        sa.select(table).where(table.c.doc_id == doc_id)
                    )
                    found = sorted((dict(r) for r in result.mappings()), key=repr)
                    assert found == sorted(expected.get(table.name, []), key=repr), table.name
    finally:
        await engine.dispose()


@pytest.mark.postgres
async def test_two_processes_projecting_at_once(
    server: ServerProcess, tmp_path: Path, database_url: str
) -> None:
    if not database_url.startswith("postgresql"):
        pytest.skip("two server processes share one PostgreSQL, not one SQLite file")
    await fill(server, tmp_path / "t.sqlite3", 150)
    server.stop()
    await forget_projection(database_url)
    other = ServerProcess(database_url, tmp_path)
    await asyncio.gather(asyncio.to_thread(server.start), asyncio.to_thread(other.start))
    try:
        await caught_up(database_url)
    finally:
        other.stop()
    await sql_equals_oracle(database_url)


async def test_a_process_killed_during_projection_catches_up_after_restart(
    server: ServerProcess, tmp_path: Path, database_url: str
) -> None:
    total = 500
    await fill(server, tmp_path / "t.sqlite3", total)
    for _ in range(5):
        server.stop()
        await forget_projection(database_url)
        starting = asyncio.create_task(asyncio.to_thread(server.start))
        left, deadline = total, time.monotonic() + 30
        while left == total and time.monotonic() < deadline:  # until a batch commits
            await asyncio.sleep(0.01)
            left = await pending(database_url)
        server.kill()  # half-way through the catch-up at startup
        with contextlib.suppress(RuntimeError):  # it may die before it was ready
            await starting
        if 0 < left < total:
            break
    else:
        pytest.fail("never caught the projection half-way")
    assert await pending(database_url) > 0
    server.start()
    await caught_up(database_url)
    await sql_equals_oracle(database_url)
