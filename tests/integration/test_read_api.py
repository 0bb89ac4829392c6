"""The read API: filters, keyset pages that neither repeat nor skip, grid scope, and
the projection lag figure (admins only)."""

import asyncio
import base64
import uuid
from pathlib import Path
from typing import Any

from server.access.roles import Role
from tests.unit.records import new_record

from .harness import Harness, running_app
from .test_projection import HOUSEHOLD, settled


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


async def get(harness: Harness, token: str, path: str, **params: Any) -> Any:
    response = await harness.client.get(path, params=params, headers=bearer(token))
    return response.status_code, response.json()


async def test_filters_pages_and_scope(database_url: str, tmp_path: Path) -> None:
    async with running_app(database_url) as harness:
        wang, _ = await harness.tablet(tmp_path / "w.sqlite3", "G1", "王芳")
        li, _ = await harness.tablet(tmp_path / "l.sqlite3", "G2", "李强")
        home = wang.new_record("household", "G1", {**HOUSEHOLD, "tags": ["living_alone"]})
        wang.new_record("household", "G1", {**HOUSEHOLD, "room": "502", "tags": ["veteran"]})
        visits = [
            wang.new_record("visit", "G1", {"household": home.id, "purpose": purpose})
            for purpose in ["care_visit", "routine", "care_visit", "follow_up", "care_visit"]
        ]
        case = li.new_record("case", "G2", {"title": "楼道堆物", "type": "neighbours"})
        for tablet in (wang, li):
            await tablet.sync()
        await settled(harness)
        g1 = await harness.token("G1", "coordinator")

        pages, after = [], None
        while True:
            params = {"limit": 2, **({"after": after} if after else {})}
            status, page = await get(harness, g1, "/api/visits", **params)
            assert status == 200
            pages.append([item["doc_id"] for item in page["items"]])
            if not (after := page["next"]):
                break
        seen = [doc_id for page in pages for doc_id in page]
        assert sorted(seen) == sorted(v.id for v in visits) and len(pages) == 3

        status, care = await get(harness, g1, "/api/visits", purpose="care_visit")
        assert len(care["items"]) == 3
        status, alone = await get(harness, g1, "/api/households", tag="living_alone")
        assert [h["doc_id"] for h in alone["items"]] == [home.id]
        status, mine = await get(harness, g1, "/api/visits", member="王芳")
        assert len(mine["items"]) == 5
        status, nobody = await get(harness, g1, "/api/visits", member="李强")
        assert nobody["items"] == []

        # Another grid's records are neither listed nor readable, whatever the filter says.
        status, none = await get(harness, g1, "/api/cases", grid="G2")
        assert (status, none["items"]) == (200, [])
        status, problem = await get(harness, g1, f"/api/cases/{case.id}")
        assert (status, problem["reason"]) == (404, "unknown_record")
        status, problem = await get(harness, g1, "/api/visits", tag="veteran")
        assert (status, problem["reason"]) == (400, "unknown_filter")
        status, problem = await get(harness, g1, "/api/visits", after="not-a-token")
        assert (status, problem["reason"]) == (400, "malformed_page_token")
        for tablet in (wang, li):
            await tablet.close()


async def test_projection_lag_is_reported_to_admins_only(database_url: str, tmp_path: Path) -> None:
    async with running_app(database_url) as harness:
        token = await harness.token("G1", "管理员", Role.ADMIN)
        member = await harness.token("G1")
        status, problem = await get(harness, member, "/api/projection")
        assert (status, problem["reason"]) == (403, "forbidden")  # it counts every grid
        status, lag = await get(harness, token, "/api/projection")
        assert status == 200 and lag["pending_documents"] == 0
        harness.services.projection.notify = lambda decoded: None  # type: ignore[method-assign]
        tablet, _ = await harness.tablet(tmp_path / "t.sqlite3", "G1")
        tablet.new_record("visit", "G1", {"findings": "x"})
        await tablet.sync()
        status, lag = await get(harness, token, "/api/projection")
        assert lag["pending_documents"] == 1 and lag["oldest_pending_since"]
        await harness.services.projection.projector.catch_up()
        await asyncio.sleep(0)
        assert (await get(harness, token, "/api/projection"))[1]["pending_documents"] == 0
        await tablet.close()


async def test_records_without_a_valid_creation_time_are_paged_last(
    database_url: str, tmp_path: Path
) -> None:
    """A stock Yjs app may leave `meta.created_at` out: such records still page, last."""
    async with running_app(database_url) as harness:
        token = await harness.token("G1")
        undated = []
        for findings in ("甲", "乙"):
            doc_id, _, update = new_record("visit", "G1", findings=findings)
            response = await harness.client.post(
                f"/docs/{doc_id}/update", content=update, headers=bearer(token)
            )
            assert response.status_code == 200, response.text
            undated.append(doc_id)
        tablet, _ = await harness.tablet(tmp_path / "t.sqlite3", "G1")
        dated = tablet.new_record("visit", "G1", {"findings": "丙"})
        await tablet.sync()
        await settled(harness)
        seen, after = [], None
        while True:
            params = {"limit": 1, **({"after": after} if after else {})}
            status, page = await get(harness, token, "/api/visits", **params)
            assert status == 200, page
            seen += [item["doc_id"] for item in page["items"]]
            if not (after := page["next"]):
                break
        assert seen[0] == dated.id and sorted(seen[1:]) == sorted(undated)
        await tablet.close()


async def test_review_filter_and_times_without_offset(database_url: str) -> None:
    async with running_app(database_url) as harness:
        token = await harness.token("G1")
        status, page = await get(harness, token, "/api/cases", review="approved")
        assert (status, page["items"]) == (200, [])
        status, problem = await get(harness, token, "/api/visits", since="2026-11-01T00:00:00")
        assert (status, problem["reason"]) == (400, "time_without_offset")
        status, page = await get(harness, token, "/api/visits", since="2026-11-01T00:00:00+08:00")
        assert (status, page["items"]) == (200, [])
        naive = base64.urlsafe_b64encode(f"2026-11-01T00:00:00|{uuid.uuid4()}".encode()).decode()
        status, problem = await get(harness, token, "/api/visits", after=naive)
        assert (status, problem["reason"]) == (400, "malformed_page_token")
