"""Documents an older server stored unchecked (a value nested 1,000 deep, shared types
nested 20,000 deep) next to good ones: the projection flags them and goes on, after a
restart too; the change feed delivers what came after them; reviewing them is a 409 with a
reason; the nightly verify reports them; their console pages render."""

import asyncio
import uuid
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import sqlalchemy as sa
from pycrdt import Doc, Map
from sqlalchemy.ext.asyncio import AsyncEngine

from server.access.roles import Role
from server.db.engine import write_transaction
from server.db.tables import documents, seq_counter, updates
from server.jobs.verify import JOB as VERIFY
from server.records.stored import UNREADABLE_PATH
from tests import yjs_bytes as yb

from .harness import TWO_COMMUNITIES, Harness, machine_headers, org, running_app
from .test_nightly_compact_verify import context
from .test_projection import HOUSEHOLD, oracle, rows_in_sql, settled
from .test_review import audited, post, server_updates, world

OLD_CLIENT = 424242  # the Yjs client id of the tablet whose updates an older server kept
CREATED_AT = "2026-11-20T09:30:00.000+08:00"


def creation(kind: str, grid: str, fields: dict[str, Any]) -> bytes:
    """A record's first update, as the SDK writes it."""
    doc: Doc[Any] = Doc()
    with doc.transaction():
        meta = {"kind": kind, "grid": grid, "created_by": "王芳", "created_at": CREATED_AT}
        doc.get("meta", type=Map).update({**meta, "schema": 1})
        doc.get("fields", type=Map).update(fields)
    return doc.get_update()


def poisoned_creation(kind: str, grid: str) -> bytes:
    """A first update whose `meta` is fine but whose `fields.x` nests 1,000 arrays deep."""
    items = [
        yb.item_in_root("meta", yb.any_content(yb.any_string(kind)), "kind"),
        yb.item_in_root("meta", yb.any_content(yb.any_string(grid)), "grid"),
        yb.item_in_root("fields", yb.any_content(yb.nested_arrays(1000)), "x"),
    ]
    return yb.update({OLD_CLIENT: (0, items)})


async def stored_unchecked(
    database: AsyncEngine, doc_id: str, kind: str, grid: str, *data: bytes
) -> None:
    """Append a new document's updates straight into the log, as a server before the
    checks did: sequence numbers from the counter, the `documents` row, no projection."""
    async with write_transaction(database) as connection:
        bump = (
            sa.update(seq_counter)
            .where(seq_counter.c.id == 1)
            .values(value=seq_counter.c.value + len(data))
            .returning(seq_counter.c.value)
        )
        last = (await connection.execute(bump)).scalar_one()
        now = datetime.now(UTC)
        rows = [
            {"seq": last - len(data) + 1 + i, "doc_id": doc_id, "grid": grid, "device": None}
            | {"data": update, "created_at": now}
            for i, update in enumerate(data)
        ]
        await connection.execute(sa.insert(updates), rows)
        await connection.execute(
            sa.insert(documents).values(
                id=doc_id,
                kind=kind,
                grid=grid,
                created_at=now,
                updated_at=now,
                head_seq=last,
                update_count=len(data),
                byte_size=sum(map(len, data)),
            )
        )


async def store_bad_documents(database: AsyncEngine) -> dict[str, str]:
    """Three documents an older server kept, in G1: kind → id."""
    bad = {kind: str(uuid.uuid4()) for kind in ("visit", "household", "case")}
    visit = creation("visit", "G1", {"findings": "独居老人", "purpose": "care_visit"})
    deep_value = yb.field_value(OLD_CLIENT, yb.nested_arrays(1000))
    await stored_unchecked(database, bad["visit"], "visit", "G1", visit, deep_value)
    home = creation("household", "G1", dict(HOUSEHOLD))
    deep_types = yb.nested_types(OLD_CLIENT, 20000)
    await stored_unchecked(database, bad["household"], "household", "G1", home, deep_types)
    await stored_unchecked(database, bad["case"], "case", "G1", poisoned_creation("case", "G1"))
    return bad


async def get_json(harness: Harness, headers: dict[str, str], path: str, **params: Any) -> Any:
    response = await harness.client.get(path, params=params, headers=headers)
    assert response.status_code == 200, response.text[:300]
    return response.json()


async def whole_feed(harness: Harness, headers: dict[str, str]) -> tuple[list[str], Any]:
    """Every change the feed delivers from the beginning, and its last page."""
    seen: list[str] = []
    page = await get_json(harness, headers, "/api/changes", limit=2)
    seen += [item["doc_id"] for item in page["items"]]
    while page["more"]:
        page = await get_json(harness, headers, "/api/changes", limit=2, since=page["next"])
        seen += [item["doc_id"] for item in page["items"]]
    return seen, page


def flag_of(detail: dict[str, Any]) -> dict[str, Any]:
    [flag] = [issue for issue in detail["issues"] if issue["path"] == UNREADABLE_PATH]
    return flag


async def test_bad_documents_are_flagged_and_everything_else_flows(
    database_url: str, tmp_path: Path
) -> None:
    async with running_app(database_url) as harness:
        zhang, _, _ = await world(harness)
        wang, _ = await harness.tablet(tmp_path / "w.sqlite3", "G1", "王芳")
        home = wang.new_record("household", "G1", dict(HOUSEHOLD))
        before = wang.new_record("visit", "G1", {"household": home.id, "purpose": "routine"})
        await wang.sync()
        bad = await store_bad_documents(harness.services.database)
        # Stored after the bad ones, by a tablet of another grid (G1's would pull them).
        li, _ = await harness.tablet(tmp_path / "l.sqlite3", "G2", "李强")
        after = li.new_record("visit", "G2", {"purpose": "routine"})
        await li.sync()
        await settled(harness)  # nothing is left behind: the bad ones are projected too

        for doc_id in (home.id, before.id, after.id):
            assert await rows_in_sql(harness, doc_id) == await oracle(harness, doc_id)
        visit = await get_json(harness, zhang, f"/api/visits/{bad['visit']}")
        # Projected as far as it goes: the update before the poisoned one.
        assert visit["record"]["findings"] == "独居老人" and visit["record"]["grid"] == "G1"
        assert visit["issues"][0] == flag_of(visit) and "文档无法读取" in flag_of(visit)["message"]
        household = await get_json(harness, zhang, f"/api/households/{bad['household']}")
        assert household["record"]["compound"] == HOUSEHOLD["compound"]
        assert "20000 levels deep" in flag_of(household)["message"]
        case = await get_json(harness, zhang, f"/api/cases/{bad['case']}")  # nothing readable
        assert case["record"]["grid"] == "G1" and case["record"]["issue_count"] == 1
        assert [issue["path"] for issue in case["issues"]] == [UNREADABLE_PATH]
        flagged = await get_json(harness, zhang, "/api/households", has_issues="true")
        assert [item["doc_id"] for item in flagged["items"]] == [bad["household"]]

        admin = {"Authorization": f"Bearer {await harness.token('G1', '管理员', Role.ADMIN)}"}
        lag = await get_json(harness, admin, "/api/projection")
        assert lag["pending_documents"] == 0 and lag["unreadable_documents"] == 3
        assert set(lag["unreadable_examples"]) == set(bad.values())

        delivered, last = await whole_feed(harness, await machine_headers(harness, ["C1"]))
        assert set(delivered) == {home.id, before.id, after.id, *bad.values()}
        assert delivered[-1] == after.id and last["waiting"] is False

        await reviews_are_refused_with_a_reason(harness, zhang, bad, home.id)
        await console_pages_render(harness, zhang, bad)
        await verify_reports_them(harness, bad)
        for tablet in (wang, li):
            await tablet.close()


async def reviews_are_refused_with_a_reason(
    harness: Harness, zhang: dict[str, str], bad: dict[str, str], good: str
) -> None:
    response = await post(
        harness, zhang, f"/api/visits/{bad['visit']}/review", {"action": "approve"}
    )
    assert (response.status_code, response.json()["reason"]) == (409, "unreadable_document")
    body = {"doc_ids": [bad["household"], good], "action": "approve"}
    response = await post(harness, zhang, "/api/households/review", body)
    assert response.status_code == 200, response.text
    results = [(r["doc_id"], r["status"], r.get("reason")) for r in response.json()["results"]]
    assert results == [
        (bad["household"], "refused", "unreadable_document"),
        (good, "approved", None),
    ]
    path = f"/api/cases/{bad['case']}/conflicts/{'0' * 40}/resolve"
    response = await post(harness, zhang, path, {"value": "调解成功"})
    assert (response.status_code, response.json()["reason"]) == (409, "unreadable_document")
    refused = [row for row in await audited(harness, "record.reviewed") if row["outcome"] != "ok"]
    assert [row["detail"]["reason"] for row in refused] == ["unreadable_document"] * 2


async def console_pages_render(
    harness: Harness, zhang: dict[str, str], bad: dict[str, str]
) -> None:
    cookie = {"Cookie": zhang["Cookie"]}
    for kind, doc_id in bad.items():
        page = await harness.client.get(f"/console/{kind}s/{doc_id}", headers=cookie)
        assert page.status_code == 200, page.text[:300]
        assert 'id="unreadable"' in page.text and "文档无法读取" in page.text
        assert 'id="review-unreadable"' in page.text and 'id="approve"' not in page.text
    listed = await harness.client.get(
        "/console/visits", params={"has_issues": "yes"}, headers=cookie
    )
    assert listed.status_code == 200 and bad["visit"] in listed.text
    # A review posted anyway (a page opened before): back to the page, with the reason.
    form = {"csrf_token": zhang["X-CSRF-Token"], "action": "approve"}
    posted = await harness.client.post(
        f"/console/visits/{bad['visit']}/review", data=form, headers=cookie
    )
    assert posted.status_code == 303
    location = posted.headers["location"]
    assert parse_qs(urlsplit(location).query)["review_error"] == ["unreadable_document"]
    page = await harness.client.get(location, headers=cookie)
    assert page.status_code == 200 and "不能审核或修改" in page.text


async def verify_reports_them(harness: Harness, bad: dict[str, str]) -> None:
    await settled(harness)  # the approval above
    for _ in range(2):  # reported every night, repaired never
        figures = await VERIFY.run(context(harness))
        assert figures["documents_unreadable"] == 3, figures
        assert {entry["doc_id"] for entry in figures["unreadable"]} == set(bad.values())
        assert figures["documents_repaired"] == 0 and figures["documents_caught_up"] == 0


async def test_after_a_restart_the_worker_projects_past_bad_documents(
    database_url: str, tmp_path: Path
) -> None:
    async with running_app(database_url) as harness:
        await org(harness, *TWO_COMMUNITIES)
        wang, _ = await harness.tablet(tmp_path / "w.sqlite3", "G1", "王芳")
        good = wang.new_record("visit", "G1", {"purpose": "routine"})
        await wang.sync()
        await settled(harness)
        await wang.close()
        # Stored by an older server while this one was down, never projected.
        bad = await store_bad_documents(harness.services.database)

    async with running_app(database_url) as harness:  # a fresh process, the same database
        await settled(harness)  # its startup catch-up went past them
        li, _ = await harness.tablet(tmp_path / "l.sqlite3", "G2", "李强")
        after = li.new_record("visit", "G2", {"purpose": "routine"})
        await li.sync()
        await settled(harness)
        [worker] = [task for task in asyncio.all_tasks() if task.get_name() == "projection"]
        assert not worker.done()
        for doc_id in (good.id, after.id):
            assert await rows_in_sql(harness, doc_id) == await oracle(harness, doc_id)
        lag = await harness.services.projection.projector.flagged()
        assert lag.documents == 3 and set(lag.examples) == set(bad.values())
        await li.close()


async def test_a_document_whose_rows_the_database_refuses_does_not_hold_back_the_others(
    database_url: str, tmp_path: Path
) -> None:
    async with running_app(database_url) as harness:
        harness.services.projection.notify = lambda decoded: None  # type: ignore[method-assign]
        wang, _ = await harness.tablet(tmp_path / "w.sqlite3", "G1", "王芳")
        made = [wang.new_record("visit", "G1", {"purpose": "routine"}) for _ in range(3)]
        await wang.sync()
        projector = harness.services.projection.projector
        original = projector.decode

        def one_unstorable(doc_id: str, *args: Any) -> Any:
            decoded = original(doc_id, *args)
            if doc_id == made[1].id:  # a time without its offset: the column refuses it
                decoded.rows["visits"][0]["created_at"] = datetime(2026, 11, 20, 9, 30)
            return decoded

        projector.decode = one_unstorable  # type: ignore[method-assign]
        assert await projector.catch_up() == 3
        assert (await projector.lag()).pending_documents == 0
        for record in (made[0], made[2]):
            assert await rows_in_sql(harness, record.id) == await oracle(harness, record.id)
        token = {"Authorization": f"Bearer {await harness.token('G1', 'coordinator')}"}
        [flag] = (await get_json(harness, token, f"/api/visits/{made[1].id}"))["issues"]
        assert flag["path"] == UNREADABLE_PATH and "无法写入数据库" in flag["message"]
        await wang.close()


async def test_a_value_nested_too_deep_is_refused_before_anything_recurses(
    database_url: str, tmp_path: Path
) -> None:
    async with running_app(database_url) as harness:
        zhang, _, _ = await world(harness)
        wang, _ = await harness.tablet(tmp_path / "w.sqlite3", "G1", "王芳")
        home = wang.new_record("household", "G1", dict(HOUSEHOLD))
        await wang.sync()
        path = f"/api/households/{home.id}/conflicts/{'0' * 40}/resolve"
        headers = {**zhang, "Content-Type": "application/json"}
        for depth in (1000, 100_000):  # msgspec's parser would raise RecursionError: a 500
            body = b'{"value": ' + b"[" * depth + b"]" * depth + b"}"
            response = await harness.client.post(path, content=body, headers=headers)
            assert (response.status_code, response.json()["reason"]) == (413, "too_deep")
        response = await harness.client.post(
            f"/api/households/{home.id}/review", content=b"[" * 5000, headers=headers
        )
        assert (response.status_code, response.json()["reason"]) == (413, "too_deep")
        # Parsed, but deeper than a document may hold once inside its log entry.
        response = await post(harness, zhang, path, {"value": {"b": nested_list(40)}})
        assert (response.status_code, response.json()["reason"]) == (413, "too_deep")
        assert await server_updates(harness, home.id) == 0
        [refused] = await audited(harness, "conflict.resolved")
        assert (refused["outcome"], refused["detail"]["reason"]) == ("refused", "too_deep")
        await wang.close()


def nested_list(depth: int) -> Any:
    value: Any = []
    for _ in range(depth - 1):
        value = [value]
    return value
