"""A document's log is compacted once it grows past the bound, and tablets converge after;
device tokens are stored only as hashes."""

import asyncio
from pathlib import Path

import sqlalchemy as sa

from server.db.tables import updates

from .harness import running_app

GRID = "G-compact"


async def test_a_long_log_is_compacted_and_old_cursors_still_converge(
    database_url: str, tmp_path: Path
) -> None:
    async with running_app(database_url, compact_after_updates=10) as harness:
        writer, _ = await harness.tablet(tmp_path / "w.sqlite3", GRID, "调解员")
        early, _ = await harness.tablet(tmp_path / "e.sqlite3", GRID, "网格员")
        case = writer.new_record("case", GRID, {"title": "装修噪音"})
        await writer.sync()
        await early.sync()  # its cursor now sits before everything that follows
        for round_ in range(4):
            for index in range(4):
                case.add_note(f"第{round_}轮第{index}次调解")
            await writer.sync()  # one request, four updates
        for _ in range(50):  # compaction runs after the answer, in the background
            async with harness.services.database.connect() as connection:
                rows = (
                    await connection.execute(
                        sa.select(sa.func.count())
                        .select_from(updates)
                        .where(updates.c.doc_id == case.id)
                    )
                ).scalar_one()
            if rows < 10:
                break
            await asyncio.sleep(0.1)
        assert rows < 10
        await early.sync()
        assert early.record(case.id).to_plain() == case.to_plain()
        assert len(early.record(case.id).notes) == 16
        for tablet in (writer, early):
            await tablet.close()
