"""The SQL projection equals what decoding the documents gives, survives crashes and
concurrent projectors, flags invalid content and clears the flag once it is corrected."""

import asyncio
import tempfile
import uuid
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from pycrdt import Doc

from schemas.decode import decode
from server.db.engine import make_engine
from server.records.projection import Projector
from sync.layout import to_plain

from .harness import Harness, running_app

HOUSEHOLD = {"compound": "幸福里小区", "building": "3幢", "unit": "2单元", "room": "501"}


async def settled(harness: Harness) -> None:
    """Wait until the projection has caught up."""
    projector = harness.services.projection.projector
    for _ in range(200):
        if (await projector.lag()).pending_documents == 0:
            return
        await asyncio.sleep(0.05)
    raise AssertionError("the projection did not catch up")


async def rows_in_sql(harness: Harness, doc_id: str) -> dict[str, list[dict[str, Any]]]:
    tables = harness.services.projection.projector._tables
    found = {}
    async with harness.services.database.connect() as connection:
        for name, table in tables.items():
            result = await connection.execute(sa.select(table).where(table.c.doc_id == doc_id))
            found[name] = sorted((dict(r) for r in result.mappings()), key=repr)
    return found


async def oracle(harness: Harness, doc_id: str) -> dict[str, list[dict[str, Any]]]:
    doc: Doc[Any] = Doc()
    for update in await harness.services.sync.store.updates(doc_id):
        doc.apply_update(update.data)
    rows = decode(doc_id, to_plain(doc)).tables()
    tables = harness.services.projection.projector._tables
    return {name: sorted(rows.get(name, []), key=repr) for name in tables}


async def get(harness: Harness, token: str, path: str, **params: Any) -> Any:
    response = await harness.client.get(
        path, params=params, headers={"Authorization": f"Bearer {token}"}
    )
    assert response.status_code == 200, response.text
    return response.json()


async def test_invalid_content_is_kept_flagged_and_cleared_when_corrected(
    database_url: str, tmp_path: Path
) -> None:
    async with running_app(database_url) as harness:
        tablet, _ = await harness.tablet(tmp_path / "t.sqlite3", "G1", "王芳")
        household = tablet.new_record("household", "G1", {**HOUSEHOLD, "phone": "call-me"})
        visit = tablet.new_record("visit", "G1", {"purpose": "care_visit"})  # no household
        report = await tablet.sync()
        assert any(i.startswith("fields.phone") for i in report.issues[household.id])
        assert any(i.startswith("fields.household") for i in report.issues[visit.id])
        await settled(harness)
        token = await harness.token("G1", "coordinator")
        detail = await get(harness, token, f"/api/households/{household.id}")
        assert detail["record"]["phone"] is None  # not projected, but kept in the document
        assert detail["record"]["compound"] == "幸福里小区"
        assert [i["path"] for i in detail["issues"]] == ["fields.phone"]
        flagged = await get(harness, token, "/api/households", has_issues="true")
        assert [r["doc_id"] for r in flagged["items"]] == [household.id]
        assert tablet.record(household.id).get("phone") == "call-me"

        tablet.record(household.id).set("phone", "13800138000")
        report = await tablet.sync()
        assert household.id not in report.issues
        await settled(harness)
        detail = await get(harness, token, f"/api/households/{household.id}")
        # Masked: a grid member may not see phone numbers in full (test_personal_data.py).
        assert detail["record"]["phone"] == "138****8000" and detail["issues"] == []
        assert (await get(harness, token, "/api/households", has_issues="true"))["items"] == []
        await tablet.close()


CHINESE = ["𠀀𪚥䶮", "独居老人🍚👵🏻", "Zhang San 张三 ΑΒΓ", "\u200b零宽\u3000全角", "长" * 3000]


async def test_chinese_text_survives_tablet_to_sql_to_api_byte_for_byte(
    database_url: str, tmp_path: Path
) -> None:
    async with running_app(database_url) as harness:
        tablet, _ = await harness.tablet(tmp_path / "t.sqlite3", "G1", "𠀀网格员")
        household = tablet.new_record("household", "G1", {**HOUSEHOLD, "head_name": "䶮"})
        visits = [
            tablet.new_record("visit", "G1", {"household": household.id, "findings": text})
            for text in CHINESE
        ]
        visits[0].add_note("调解记录 🙏 𪚥", method="at_home")
        await tablet.sync()
        await settled(harness)
        token = await harness.token("G1", "coordinator")
        for visit, text in zip(visits, CHINESE, strict=True):
            detail = await get(harness, token, f"/api/visits/{visit.id}")
            assert detail["record"]["findings"].encode() == text.encode()
            assert detail["record"]["created_by"] == "𠀀网格员"
        note = (await get(harness, token, f"/api/visits/{visits[0].id}"))["notes"][0]
        assert note["text"] == "调解记录 🙏 𪚥"
        head = await get(harness, token, f"/api/households/{household.id}")
        assert head["record"]["head_name"] == "䶮"
        await tablet.close()


async def test_concurrent_offline_edits_show_as_a_conflict_until_resolved(
    database_url: str, tmp_path: Path
) -> None:
    async with running_app(database_url) as harness:
        alice, _ = await harness.tablet(tmp_path / "a.sqlite3", "G1", "王芳")
        bob, _ = await harness.tablet(tmp_path / "b.sqlite3", "G1", "李强")
        household = alice.new_record("household", "G1", {**HOUSEHOLD, "phone": "13800000000"})
        await alice.sync()
        await bob.sync()
        alice.record(household.id).set("phone", "13811111111")  # both offline
        bob.record(household.id).set("phone", "13922222222")
        for tablet in (alice, bob, alice):
            await tablet.sync()
        await settled(harness)
        token = await harness.token("G1", "coordinator")
        detail = await get(harness, token, f"/api/households/{household.id}")
        [conflict] = detail["conflicts"]
        assert sorted(e["value"] for e in conflict["entries"]) == ["138****1111", "139****2222"]
        assert sorted(e["by"] for e in conflict["entries"]) == ["李强", "王芳"]
        listed = await get(harness, token, "/api/households", has_conflict="true")
        assert [r["doc_id"] for r in listed["items"]] == [household.id]

        alice.record(household.id).set("phone", "13922222222")  # has seen both: resolves
        await alice.sync()
        await settled(harness)
        detail = await get(harness, token, f"/api/households/{household.id}")
        assert detail["conflicts"] == [] and detail["record"]["has_conflict"] is False
        for tablet in (alice, bob):
            await tablet.close()


async def test_two_projectors_at_once_give_the_rows_one_would(
    database_url: str, tmp_path: Path
) -> None:
    async with running_app(database_url) as harness:
        tablet, _ = await harness.tablet(tmp_path / "t.sqlite3", "G1")
        made = [tablet.new_record("visit", "G1", {"findings": f"第{i}户"}) for i in range(30)]
        harness.services.projection.notify = lambda decoded: None  # type: ignore[method-assign]
        await tablet.sync()
        # Two more "processes": their own engines, caches and connection pools.
        others = [make_engine(database_url) for _ in range(2)]
        try:
            projectors = [Projector(db) for db in others]
            await asyncio.gather(*(p.catch_up(batch=7) for p in projectors))
        finally:
            for db in others:
                await db.dispose()
        for record in made:
            assert await rows_in_sql(harness, record.id) == await oracle(harness, record.id)
        await tablet.close()


async def test_a_projection_killed_half_way_leaves_nothing_half_written(
    database_url: str, tmp_path: Path
) -> None:
    async with running_app(database_url) as harness:
        tablet, _ = await harness.tablet(tmp_path / "t.sqlite3", "G1")
        harness.services.projection.notify = lambda decoded: None  # type: ignore[method-assign]
        record = tablet.new_record("case", "G1", {"title": "装修噪音", "type": "renovation"})
        record.add_note("上门了解情况", method="at_home")
        await tablet.sync()
        projector = harness.services.projection.projector

        class Killed(BaseException):
            pass

        original = projector._replace_rows

        async def dies_after_deleting(connection: Any, fresh: Any) -> None:
            tables = projector._tables
            for table in tables.values():
                await connection.execute(table.delete().where(table.c.doc_id.in_(list(fresh))))
            raise Killed

        projector._replace_rows = dies_after_deleting  # type: ignore[method-assign]
        with pytest.raises(Killed):
            await projector.catch_up()
        assert (await projector.lag()).pending_documents == 1
        projector._replace_rows = original  # type: ignore[method-assign]
        assert await projector.catch_up() == 1
        assert await rows_in_sql(harness, record.id) == await oracle(harness, record.id)
        await tablet.close()


edits = st.lists(
    st.tuples(
        st.integers(0, 1),
        st.sampled_from(["phone", "findings", "purpose", "head_name", "note", "sync"]),
        st.sampled_from(["13800138000", "not a phone", "care_visit", "回访", "𠀀", "", "x" * 120]),
    ),
    max_size=15,
)


@settings(
    max_examples=15,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(steps=edits)
def test_sql_rows_equal_the_decoded_documents(database_url: str, steps: list[Any]) -> None:
    async def scenario() -> None:
        grid = f"G-{uuid.uuid4().hex[:8]}"
        with tempfile.TemporaryDirectory() as folder:
            async with running_app(database_url) as harness:
                pair = [await harness.tablet(Path(folder) / f"{i}.db", grid) for i in range(2)]
                tablets = [t for t, _ in pair]
                first = tablets[0].new_record("household", grid, dict(HOUSEHOLD))
                await tablets[0].sync()
                await tablets[1].sync()
                second = tablets[1].new_record("visit", grid, {"household": first.id})
                for who, what, value in steps:
                    tablet = tablets[who]
                    records = tablet.records()
                    if what == "sync":
                        await tablet.sync()
                    elif what == "note":
                        records[-1].add_note(value)
                    else:
                        records[len(value) % len(records)].set(what, value)
                for tablet in tablets + tablets:
                    await tablet.sync()
                await settled(harness)
                for doc_id in (first.id, second.id):
                    assert await rows_in_sql(harness, doc_id) == await oracle(harness, doc_id)
                for tablet in tablets:
                    await tablet.close()

    asyncio.run(scenario())
