"""Scopes follow the org tree at every request: moving an account or a grid moves what its
tablets and its read API see, at the next sync or request."""

from pathlib import Path

import httpx

from server.access.accounts import AccountChange
from server.access.audit import SYSTEM
from server.access.org import Level, Unit
from server.access.roles import Role
from tablet import Tablet

from .harness import BASE, device_headers, org, person, running_app, session_headers
from .test_projection import settled

TREE = [
    Unit("S", "临平街道", Level.STREET),
    Unit("C1", "东湖社区", Level.COMMUNITY, "S"),
    Unit("C2", "西湖社区", Level.COMMUNITY, "S"),
    Unit("GA", "东湖一网格", Level.GRID, "C1"),
    Unit("GB", "东湖二网格", Level.GRID, "C1"),
    Unit("GX", "西湖一网格", Level.GRID, "C2"),
]


async def test_a_member_moved_to_another_grid_gets_its_documents_and_stops_getting_the_old(
    database_url: str, tmp_path: Path
) -> None:
    async with running_app(database_url) as harness:
        await org(harness, *TREE)
        in_a, _ = await harness.tablet(tmp_path / "a.sqlite3", "GA", "王芳")
        in_b, _ = await harness.tablet(tmp_path / "b.sqlite3", "GB", "李强")
        a_home = in_a.new_record("household", "GA", {"head_name": "张桂英"})
        b_home = in_b.new_record("household", "GB", {"head_name": "刘建国"})
        for tablet in (in_a, in_b):
            await tablet.sync()

        moved = await person(harness, Role.GRID_MEMBER, ["GA"], "zhao")
        token = (await device_headers(harness, moved))["Authorization"].removeprefix("Bearer ")
        http = httpx.AsyncClient(transport=harness.network(), base_url=BASE)
        mine = Tablet(tmp_path / "mine.sqlite3", BASE, token, "赵敏", http=http)
        first = await mine.sync()
        assert {r.id for r in mine.records()} == {a_home.id} and first.dropped_grids == []

        await harness.services.access.accounts.change(
            moved.account_id, AccountChange(units=["GB"]), SYSTEM
        )
        later_in_a = in_a.new_record("visit", "GA", {"household": a_home.id})
        await in_a.sync()
        report = await mine.sync()
        assert report.dropped_grids == ["GA"]  # the tablet may drop GA's documents
        assert b_home.id in {r.id for r in mine.records()}
        assert later_in_a.id not in {r.id for r in mine.records()}

        stray = mine.new_record("visit", "GA", {"household": a_home.id})
        report = await mine.sync()
        assert [(r.doc_id, r.reason) for r in report.refused] == [(stray.id, "out_of_scope")]
        again = await mine.sync()
        assert again.dropped_grids == []  # said once: the cursor no longer holds GA
        for tablet in (in_a, in_b, mine):
            await tablet.close()
        await http.aclose()


async def test_a_grid_moved_into_a_community_is_read_by_its_coordinator_at_once(
    database_url: str, tmp_path: Path
) -> None:
    async with running_app(database_url) as harness:
        await org(harness, *TREE)
        in_x, _ = await harness.tablet(tmp_path / "x.sqlite3", "GX", "孙丽")
        case = in_x.new_record("case", "GX", {"title": "楼道堆物", "type": "neighbours"})
        await in_x.sync()
        await in_x.close()
        await settled(harness)
        coordinator = await person(harness, Role.COORDINATOR, ["C1"], "coordinator-c1")
        browser = await session_headers(harness, coordinator)

        async def cases() -> list[str]:
            response = await harness.client.get("/api/cases", headers=browser)
            assert response.status_code == 200, response.text
            return [item["doc_id"] for item in response.json()["items"]]

        detail = await harness.client.get(f"/api/cases/{case.id}", headers=browser)
        assert (await cases(), detail.status_code) == ([], 404)
        await org(harness, Unit("GX", "西湖一网格", Level.GRID, "C1"))
        assert await cases() == [case.id]
        detail = await harness.client.get(f"/api/cases/{case.id}", headers=browser)
        assert detail.status_code == 200 and detail.json()["record"]["title"] == "楼道堆物"
        await org(harness, Unit("GX", "西湖一网格", Level.GRID, "C2"))  # and back
        assert await cases() == []
