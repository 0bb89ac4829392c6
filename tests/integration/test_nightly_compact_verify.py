"""The nightly `compact` and `verify` jobs on a running app with real SDK tablets."""

import asyncio
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from pycrdt import Doc
from sqlalchemy.ext.asyncio import AsyncEngine

from schemas.decode import decode
from server.db.record_tables import field_history, record_notes, visits
from server.db.tables import documents, updates
from server.jobs.base import JobContext
from server.jobs.compact import JOB as COMPACT
from server.jobs.verify import JOB as VERIFY
from server.settings import NightlySettings, Settings
from sync.engine import squash
from sync.layout import to_plain
from sync.ports import Snapshot

from .harness import Harness, running_app

GRID = "G-nightly"
BOUNDS = NightlySettings(compact_rows=8, compact_bytes=6000, compact_idle_hours=24)


class Recorded:
    def __init__(self) -> None:
        self.updates: list[tuple[int, int | None, str]] = []

    def update(self, done: int, total: int | None = None, note: str = "") -> None:
        self.updates.append((done, total, note))


def context(harness: Harness, now: datetime | None = None) -> JobContext:
    services = harness.services
    settings = Settings(database_url=str(services.database.url), nightly=BOUNDS)
    return JobContext(
        services.database,
        services.sync,
        services.projection.projector,
        settings,
        now or datetime.now(UTC),
        Recorded(),
    )


async def contents(database: AsyncEngine) -> dict[str, Any]:
    """Every document's content, merged from the log."""
    docs: dict[str, Doc[Any]] = {}
    async with database.connect() as connection:
        for doc_id, data in await connection.execute(
            sa.select(updates.c.doc_id, updates.c.data).order_by(updates.c.seq)
        ):
            docs.setdefault(doc_id, Doc()).apply_update(data)
    return {doc_id: to_plain(doc) for doc_id, doc in docs.items()}


async def rows_per_document(database: AsyncEngine) -> dict[str, int]:
    query = sa.select(updates.c.doc_id, sa.func.count()).group_by(updates.c.doc_id)
    async with database.connect() as connection:
        return {doc_id: count for doc_id, count in await connection.execute(query)}


async def test_compact_squashes_what_passed_a_bound_and_tablets_still_converge(
    database_url: str, tmp_path: Path
) -> None:
    async with running_app(database_url) as harness:
        writer, _ = await harness.tablet(tmp_path / "w.sqlite3", GRID, "网格员")
        early, _ = await harness.tablet(tmp_path / "e.sqlite3", GRID, "调解员")
        busy = writer.new_record("case", GRID, {"title": "楼道堆物"})
        quiet = writer.new_record("visit", GRID, {"findings": "独居老人"})
        idle = writer.new_record("visit", GRID, {"findings": "家中无人"})
        big = writer.new_record("household", GRID, {"head_name": "王芳"})
        await writer.sync()
        await early.sync()  # its cursor now predates every compaction below
        for round_ in range(12):
            busy.add_note(f"第{round_}次调解")
            await writer.sync()
        quiet.set("findings", "独居老人，已送餐")
        idle.set("findings", "家中无人，改日再访")
        big.set("remarks", "长期租住，" * 800)  # about 12 KB in one update
        await writer.sync()
        database = harness.services.database
        async with database.begin() as connection:
            await connection.execute(
                documents.update()
                .where(documents.c.id == idle.id)
                .values(updated_at=datetime.now(UTC) - timedelta(hours=25))
            )
        before, rows = await contents(database), await rows_per_document(database)
        assert rows[busy.id] == 13 and rows[quiet.id] == rows[idle.id] == rows[big.id] == 2

        first = await COMPACT.run(context(harness))

        after = await rows_per_document(database)
        assert after == {busy.id: 1, quiet.id: 2, idle.id: 1, big.id: 1}
        assert await contents(database) == before
        assert first["documents_compacted"] == 3 and first["skipped"] == 0
        assert first["rows_before"] == 17 and first["rows_after"] == 3
        assert first["bytes_after"] < first["bytes_before"]
        second = await COMPACT.run(context(harness))
        assert second["documents_compacted"] == 0 and second["candidates"] == 0
        # A day later the quiet one is idle too.
        later = await COMPACT.run(context(harness, datetime.now(UTC) + timedelta(hours=25)))
        assert later["documents_compacted"] == 1
        assert await rows_per_document(database) == {d: 1 for d in before}

        await early.sync()
        for record in (busy, quiet, idle, big):
            assert early.record(record.id).to_plain() == record.to_plain()
        assert len(early.record(busy.id).notes) == 12
        early.record(busy.id).add_note("调解成功")  # both go on editing after compaction
        busy.set("title", "楼道堆物（已清理）")
        await early.sync()
        await writer.sync()
        await early.sync()
        assert early.record(busy.id).to_plain() == writer.record(busy.id).to_plain()
        assert len(writer.record(busy.id).notes) == 13
        for tablet in (writer, early):
            await tablet.close()


async def test_an_update_pushed_while_compacting_is_kept(database_url: str, tmp_path: Path) -> None:
    async with running_app(database_url) as harness:
        writer, _ = await harness.tablet(tmp_path / "w.sqlite3", GRID)
        case = writer.new_record("case", GRID, {"title": "噪音"})
        for index in range(5):
            case.add_note(f"记录{index}")
        await writer.sync()
        store = harness.services.sync.store
        read = (await store.updates_of([case.id]))[case.id]
        snapshot = squash([row.data for row in read], harness.services.sync.limits)
        assert snapshot is not None
        case.add_note("压缩期间写入")  # lands between the compactor's read and its write
        await writer.sync()
        stale = [Snapshot(case.id, [row.seq for row in read], snapshot)]
        assert await store.replace_with_snapshots(stale) == {case.id}
        # Another compactor (the push path, another process) read the same rows: refused.
        assert await store.replace_with_snapshots(stale) == set()
        assert await rows_per_document(harness.services.database) == {case.id: 2}
        merged = (await contents(harness.services.database))[case.id]
        assert [note["text"] for note in merged["notes"]][-1] == "压缩期间写入"
        assert merged == case.to_plain()
        await writer.close()


async def test_verify_repairs_corrupted_rows_and_then_finds_nothing(
    database_url: str, tmp_path: Path
) -> None:
    async with running_app(database_url) as harness:
        writer, _ = await harness.tablet(tmp_path / "w.sqlite3", GRID)
        household = writer.new_record(
            "household",
            GRID,
            {
                "head_name": "李娜",
                "members": [{"name": "李娜", "relation": "户主", "birth_year": 1961}],
            },
        )
        household.set("phone", "13800138000")
        visit = writer.new_record(
            "visit",
            GRID,
            {
                "household": household.id,
                "visited_at": "2026-11-20T09:30:00.250+08:00",
                "gps": {"lat": 31.2304, "lon": 121.4737, "accuracy": 12.5},
                "findings": "屋顶漏水",
                "needs": [{"category": "housing", "text": "修屋顶", "deadline": "2026-12-01"}],
                "follow_up_due": "2026-12-01",
            },
        )
        visit.add_note("已联系物业")
        case = writer.new_record("case", GRID, {"title": "停车位纠纷", "urgent": True})
        case.add_note("双方到场")
        case.add_note("达成协议")
        ahead = writer.new_record("visit", GRID, {"findings": "一切正常"})
        await writer.sync()
        database = harness.services.database
        projector = harness.services.projection.projector
        await projector.catch_up()

        clean = await VERIFY.run(context(harness))
        assert clean["documents_checked"] == 4 and clean["documents_repaired"] == 0, clean

        async with database.begin() as connection:
            await connection.execute(
                visits.update().where(visits.c.doc_id == visit.id).values(findings="篡改")
            )
            await connection.execute(
                record_notes.delete().where(
                    record_notes.c.doc_id == case.id, record_notes.c.position == 1
                )
            )
            await connection.execute(
                field_history.insert().values(
                    doc_id=household.id, position=99, field="phone", prev=[], value="110"
                )
            )
            await connection.execute(
                documents.update()
                .where(documents.c.id == ahead.id)
                .values(projected_seq=documents.c.head_seq + 100)
            )
            await connection.execute(
                visits.insert().values(
                    doc_id="00000000-0000-4000-8000-000000000000",
                    grid=GRID,
                    issue_count=0,
                    has_conflict=False,
                )
            )

        figures = await VERIFY.run(context(harness))

        assert figures["documents_repaired"] == 4
        assert figures["projected_seq_wrong"] == 1
        tables = figures["tables"]
        assert tables["visits"] == {"missing": 0, "extra": 0, "differing": 1, "orphans": 1}
        assert tables["record_notes"]["missing"] == 1
        assert tables["field_history"]["extra"] == 1
        repaired = {entry["doc_id"]: entry for entry in figures["repaired"]}
        assert repaired[visit.id]["visits"]["columns"] == ["findings"]
        assert (
            repaired[ahead.id]["projected_seq"]["claimed"]
            > repaired[ahead.id]["projected_seq"]["head"]
        )
        async with database.connect() as connection:
            findings = (
                await connection.execute(
                    sa.select(visits.c.findings).where(visits.c.doc_id == visit.id)
                )
            ).scalar_one()
            notes = (
                await connection.execute(
                    sa.select(record_notes.c.text)
                    .where(record_notes.c.doc_id == case.id)
                    .order_by(record_notes.c.position)
                )
            ).scalars()
            assert findings == "屋顶漏水" and list(notes) == ["双方到场", "达成协议"]

        again = await VERIFY.run(context(harness))
        assert again["documents_repaired"] == 0 and again["tables"] == {}, again
        # The document whose projected_seq was ahead is projected again when it changes.
        ahead.set("findings", "发现隐患")
        await writer.sync()
        await projector.catch_up()
        async with database.connect() as connection:
            now_found = (
                await connection.execute(
                    sa.select(visits.c.findings).where(visits.c.doc_id == ahead.id)
                )
            ).scalar_one()
        assert now_found == "发现隐患"
        await writer.close()


async def test_a_forced_repair_never_rewinds_a_document_that_moved(
    database_url: str, tmp_path: Path
) -> None:
    async with running_app(database_url) as harness:
        writer, _ = await harness.tablet(tmp_path / "w.sqlite3", GRID)
        visit = writer.new_record("visit", GRID, {"findings": "第一次"})
        await writer.sync()
        projector = harness.services.projection.projector
        await projector.catch_up()
        checked = await contents(harness.services.database)
        async with harness.services.database.connect() as connection:
            seq = (
                await connection.execute(
                    sa.select(documents.c.head_seq).where(documents.c.id == visit.id)
                )
            ).scalar_one()
        visit.set("findings", "第二次")  # pushed after verify read the document
        await writer.sync()
        await projector.catch_up()
        stale = {visit.id: (seq, decode(visit.id, checked[visit.id]))}
        assert await projector.write(stale, force=True) == 0
        figures = await VERIFY.run(context(harness))
        assert figures["documents_repaired"] == 0
        async with harness.services.database.connect() as connection:
            findings = (
                await connection.execute(
                    sa.select(visits.c.findings).where(visits.c.doc_id == visit.id)
                )
            ).scalar_one()
        assert findings == "第二次"
        await writer.close()


async def test_compact_job_races_the_push_paths_compaction_and_pushes(
    database_url: str, tmp_path: Path
) -> None:
    async with running_app(database_url) as harness:
        writer, _ = await harness.tablet(tmp_path / "w.sqlite3", GRID)
        cases = [writer.new_record("case", GRID, {"title": f"纠纷{n}"}) for n in range(12)]
        for round_ in range(10):
            for case in cases:
                case.add_note(f"第{round_}次")
            await writer.sync()
        database, sync = harness.services.database, harness.services.sync

        async def keep_pushing() -> None:
            for round_ in range(5):
                for case in cases[::3]:
                    case.add_note(f"并发第{round_}次")
                await writer.sync()

        job, *_ = await asyncio.gather(
            COMPACT.run(context(harness)),
            keep_pushing(),
            *(sync.compact(case.id) for case in cases),
        )
        # Which compactor squashes a document first is the race: each one only once.
        assert job["documents_compacted"] + job["skipped"] <= job["candidates"] <= 12
        rows = await rows_per_document(database)
        assert all(rows[case.id] <= 6 for case in cases), rows  # a snapshot, then new notes
        merged = await contents(database)
        assert {case.id: merged[case.id] for case in cases} == {
            case.id: case.to_plain() for case in cases
        }
        assert all(len(case.notes) == (15 if n % 3 == 0 else 10) for n, case in enumerate(cases))
        reader, _ = await harness.tablet(tmp_path / "r.sqlite3", GRID)
        await reader.sync()
        assert all(reader.record(case.id).to_plain() == case.to_plain() for case in cases)
        for tablet in (writer, reader):
            await tablet.close()
