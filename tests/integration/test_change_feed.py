"""The change feed: scope, masking, formats, cursors, and a consumer paging while tablets
sync that never misses a change."""

import asyncio
import json
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa

from server.access.roles import Role
from server.db import tables  # first: the table modules import each other
from server.db.access_tables import audit_log
from server.feed import api as changes_api
from server.feed.pages import encode_cursor

from .harness import TWO_COMMUNITIES, Harness, machine_headers, org, running_app
from .test_projection import HOUSEHOLD, settled

PHONE = "13812345678"


async def feed(harness: Harness, headers: dict[str, str], **params: Any) -> Any:
    response = await harness.client.get("/api/changes", params=params, headers=headers)
    assert response.status_code == 200, response.text[:300]
    return response.json()


async def test_scope_masking_formats_and_cursor(database_url: str, tmp_path: Path) -> None:
    async with running_app(database_url) as harness:
        await org(harness, *TWO_COMMUNITIES)
        wang, _ = await harness.tablet(tmp_path / "w.sqlite3", "G1", "王芳")
        zhao, _ = await harness.tablet(tmp_path / "z.sqlite3", "G3", "赵敏")
        home = wang.new_record("household", "G1", {**HOUSEHOLD, "phone": PHONE})
        visit = wang.new_record("visit", "G1", {"household": home.id, "purpose": "routine"})
        outside = zhao.new_record("case", "G3", {"title": "楼道堆物", "type": "neighbours"})
        for tablet in (wang, zhao):
            await tablet.sync()
        await settled(harness)
        community_a = await machine_headers(harness, ["C1"])

        page = await feed(harness, community_a)
        assert [item["doc_id"] for item in page["items"]] == [home.id, visit.id]
        assert (page["more"], page["waiting"]) == (False, False)
        first = page["items"][0]
        assert first["record"]["record"]["phone"] == "138****5678"
        assert PHONE not in json.dumps(page) and outside.id not in json.dumps(page)
        assert first["kind"] == "household" and first["grid"] == "G1"

        # Paged: one at a time, each cursor leading to the next.
        one = await feed(harness, community_a, limit=1)
        assert [i["doc_id"] for i in one["items"]] == [home.id] and one["more"] is True
        two = await feed(harness, community_a, limit=1, since=one["next"])
        assert [i["doc_id"] for i in two["items"]] == [visit.id] and two["more"] is False

        # Nothing new: the same cursor back. A change brings the record back at its new head.
        idle = await feed(harness, community_a, since=page["next"])
        assert (idle["items"], idle["next"]) == ([], page["next"])
        home.set("room", "502")
        await wang.sync()
        await settled(harness)
        again = await feed(harness, community_a, since=page["next"])
        [item] = again["items"]
        assert item["doc_id"] == home.id and item["seq"] > first["seq"]
        assert item["record"]["record"]["room"] == "502"

        # NDJSON, by parameter or by Accept: one item a line, the cursor in a header.
        for params, accept in (
            ({"format": "ndjson"}, {}),
            ({}, {"Accept": "application/x-ndjson"}),
        ):
            response = await harness.client.get(
                "/api/changes", params=params, headers=community_a | accept
            )
            lines = [json.loads(line) for line in response.text.splitlines()]
            assert response.headers["content-type"].startswith("application/x-ndjson")
            assert [line["doc_id"] for line in lines] == [visit.id, home.id]
            assert response.headers["X-Doorstep-Next"] == lines[-1]["cursor"]

        for bad in ("not-a-cursor", encode_cursor(5)[:-2] + "!!", "YWJj"):
            response = await harness.client.get(
                "/api/changes", params={"since": bad}, headers=community_a
            )
            assert (response.status_code, response.json()["reason"]) == (400, "malformed_cursor")
        response = await harness.client.get(
            "/api/changes", params={"limit": 1001}, headers=community_a
        )
        assert response.status_code == 400

        # Community B's token sees B's case only.
        community_b = await machine_headers(harness, ["C2"])
        theirs = await feed(harness, community_b)
        assert [i["doc_id"] for i in theirs["items"]] == [outside.id]

        async with harness.services.database.connect() as connection:
            audited = (
                (
                    await connection.execute(
                        sa.select(audit_log.c.detail).where(audit_log.c.action == "changes.listed")
                    )
                )
                .scalars()
                .all()
            )
        # One row per page served (the refused ones are not pages).
        assert len(audited) == 8
        assert audited[0]["docs"] == [home.id, visit.id]
        for tablet in (wang, zhao):
            await tablet.close()


async def test_a_page_stops_before_a_record_not_yet_projected(
    database_url: str, tmp_path: Path
) -> None:
    async with running_app(database_url) as harness:
        await org(harness, *TWO_COMMUNITIES)
        wang, _ = await harness.tablet(tmp_path / "w.sqlite3", "G1", "王芳")
        first = wang.new_record("visit", "G1", {"purpose": "routine"})
        second = wang.new_record("visit", "G1", {"purpose": "care_visit"})
        await wang.sync()
        await settled(harness)
        # As if the projection had not reached the first record's latest change yet.
        async with harness.services.database.begin() as connection:
            await connection.execute(
                tables.documents.update()
                .where(tables.documents.c.id == first.id)
                .values(projected_seq=tables.documents.c.head_seq - 1)
            )
        headers = await machine_headers(harness, ["C1"])
        page = await feed(harness, headers)
        assert (page["items"], page["more"], page["waiting"]) == ([], False, True)
        await harness.services.projection.projector.catch_up()
        page = await feed(harness, headers)
        assert [i["doc_id"] for i in page["items"]] == [first.id, second.id]
        await wang.close()


async def test_a_consumer_paging_while_tablets_sync_misses_nothing(
    database_url: str, tmp_path: Path
) -> None:
    """Tablets in several grids keep creating and editing records, syncing concurrently
    (several database connections at once), while a consumer pulls the feed five items a
    page. At the end the consumer has seen every document at its final head."""
    async with running_app(database_url) as harness:
        await org(harness, *TWO_COMMUNITIES)
        headers = await machine_headers(harness, ["S1"])
        writing = True

        async def tablet_work(number: int) -> None:
            grid = ("G1", "G2", "G3")[number % 3]
            tablet, _ = await harness.tablet(tmp_path / f"t{number}.sqlite3", grid)
            records = []
            for round_ in range(8):
                records.append(tablet.new_record("visit", grid, {"purpose": "routine"}))
                for record in records[-3:]:
                    record.set("findings", f"第{round_}轮")
                await tablet.sync()
                await asyncio.sleep(0)
            await tablet.close()

        seen: dict[str, set[int]] = {}
        pages = 0

        async def consume() -> None:
            nonlocal pages
            cursor = None
            while True:
                params: dict[str, Any] = {"limit": 5, **({"since": cursor} if cursor else {})}
                page = await feed(harness, headers, **params)
                pages += 1
                for item in page["items"]:
                    seen.setdefault(item["doc_id"], set()).add(item["seq"])
                cursor = page["next"]
                if not page["more"]:
                    if not writing and not page["waiting"]:
                        return
                    await asyncio.sleep(0.05)

        consumer = asyncio.create_task(consume())
        await asyncio.gather(*(tablet_work(n) for n in range(8)))
        await settled(harness)
        writing = False
        await asyncio.wait_for(consumer, 120)

        async with harness.services.database.connect() as connection:
            heads = dict(
                (
                    await connection.execute(
                        sa.select(tables.documents.c.id, tables.documents.c.head_seq)
                    )
                ).all()
            )
        assert len(heads) == 8 * 8
        missed = {doc: head for doc, head in heads.items() if head not in seen.get(doc, set())}
        assert not missed, f"{len(missed)} documents never seen at their final head"
        assert pages > 10  # it really paged while the tablets wrote


async def test_a_page_is_bounded_in_bytes(
    database_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Past the byte bound a page ends early (never empty) and `more` says to go on."""
    async with running_app(database_url) as harness:
        await org(harness, *TWO_COMMUNITIES)
        wang, _ = await harness.tablet(tmp_path / "w.sqlite3", "G1", "王芳")
        made = [wang.new_record("visit", "G1", {"findings": "长" * 300}) for _ in range(3)]
        await wang.sync()
        await settled(harness)
        headers = await machine_headers(harness, ["C1"])
        monkeypatch.setattr(changes_api, "MAX_PAGE_BYTES", 1500)
        seen, cursor, pages = [], None, 0
        while True:
            page = await feed(harness, headers, **({"since": cursor} if cursor else {}))
            pages += 1
            seen += [item["doc_id"] for item in page["items"]]
            cursor = page["next"]
            if not page["more"]:
                break
        assert seen == [record.id for record in made] and pages == 3
        await wang.close()


async def test_a_review_decision_brings_the_record_back(database_url: str, tmp_path: Path) -> None:
    async with running_app(database_url) as harness:
        await org(harness, *TWO_COMMUNITIES)
        wang, _ = await harness.tablet(tmp_path / "w.sqlite3", "G1", "王芳")
        visit = wang.new_record("visit", "G1", {"purpose": "routine"})
        await wang.sync()
        await settled(harness)
        headers = await machine_headers(harness, ["C1"])
        before = await feed(harness, headers)
        assert before["items"][0]["record"]["record"]["review_state"] is None

        coordinator = await harness.token("G1", "社区工作人员", Role.COORDINATOR)
        response = await harness.client.post(
            f"/api/visits/{visit.id}/review",
            json={"action": "approve"},
            headers={"Authorization": f"Bearer {coordinator}"},
        )
        assert response.status_code == 200, response.text
        await settled(harness)
        after = await feed(harness, headers, since=before["next"])
        [item] = after["items"]
        assert item["doc_id"] == visit.id and item["record"]["record"]["review_state"] == "approved"
        await wang.close()
