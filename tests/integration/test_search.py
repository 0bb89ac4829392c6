"""Search (`q=`) in the record lists, the read API's and the console's: every word must appear
in a text column of the record (or of its household, members or parties), only in the
caller's grids, wildcards meaning themselves, and phone, ID and contact numbers matched only
for roles with the right to see them in full."""

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
import sqlalchemy as sa

from server.access.audit import SYSTEM
from server.access.roles import Role
from server.db.access_tables import audit_log
from tablet import Tablet

from .harness import (
    BASE,
    TWO_COMMUNITIES,
    Harness,
    Person,
    device_headers,
    machine_headers,
    org,
    person,
    running_app,
    session_headers,
)
from .test_projection import settled

PHONE = "13812345678"
ID_NUMBER = "33010119900101123X"
CONTACT = "13900001111"
Headers = dict[str, str]


@dataclass
class World:
    """Community C1 (grids G1, G2), community C2 (grid G3); ids of what the tablets wrote."""

    zhang: Person  # coordinator of C1
    zhao: Person  # coordinator of C2
    wang: Person  # grid member of G1: reads records, no right to personal data
    home: str  # G1, 幸福里小区, with PHONE and a member with ID_NUMBER
    lonely: str  # G1 visit of `home`: 独居老人，需要送餐
    literal: str  # G1 visit: 进度 100%_完成
    other_home: str  # G3, also 幸福里小区, also PHONE
    other_lonely: str  # G3 visit of `other_home`: 独居老人
    case: str  # G1 case with a party and its contact number
    tablets: dict[str, Any]  # name → (Tablet, device id)


async def world(harness: Harness, tmp_path: Path) -> World:
    await org(harness, *TWO_COMMUNITIES)
    zhang = await person(harness, Role.COORDINATOR, ["C1"], "zhang")
    zhao = await person(harness, Role.COORDINATOR, ["C2"], "zhao")
    wang = await person(harness, Role.GRID_MEMBER, ["G1"], "wang")
    li = await person(harness, Role.GRID_MEMBER, ["G3"], "li")
    tablets = {}
    for someone, name in ((wang, "王芳的平板"), (li, "李强的平板")):
        tablets[someone.username] = await tablet_of(harness, tmp_path, someone, name)
    g1, g3 = tablets["wang"][0], tablets["li"][0]
    member = {"name": "李秀英", "relation": "母亲", "id_number": ID_NUMBER}
    address = {"compound": "幸福里小区", "building": "3幢", "room": "501"}
    home = g1.new_record(
        "household", "G1", {**address, "head_name": "张三", "phone": PHONE, "members": [member]}
    )
    care = {"household": home.id, "purpose": "care_visit"}
    lonely = g1.new_record("visit", "G1", {**care, "findings": "独居老人，需要送餐"})
    literal = g1.new_record(
        "visit", "G1", {"household": home.id, "purpose": "routine", "findings": "进度 100%_完成"}
    )
    party = {"name": "王五", "role": "applicant", "contact": CONTACT}
    case = g1.new_record(
        "case", "G1", {"title": "邻里噪音纠纷", "place": "幸福里3幢", "parties": [party]}
    )
    other_home = g3.new_record("household", "G3", {**address, "phone": PHONE})
    other_lonely = g3.new_record(
        "visit", "G3", {"household": other_home.id, "purpose": "care_visit", "findings": "独居老人"}
    )
    for tablet, _ in tablets.values():
        await tablet.sync()
    await settled(harness)
    return World(
        zhang,
        zhao,
        wang,
        home.id,
        lonely.id,
        literal.id,
        other_home.id,
        other_lonely.id,
        case.id,
        tablets,
    )


async def tablet_of(harness: Harness, tmp_path: Path, someone: Person, name: str) -> Any:
    """An SDK tablet of `someone` that knows its device id (as one enrolled with a code)."""
    device = await harness.services.access.devices.add(someone.account_id, name, SYSTEM)
    http = httpx.AsyncClient(transport=harness.network(), base_url=BASE)
    path = tmp_path / f"{someone.username}.sqlite3"
    tablet = Tablet(path, BASE, device.token, author=someone.username, http=http)
    tablet.store.save_token(device.token, device.id)
    return tablet, device.id


async def found(harness: Harness, headers: Headers, kind: str, q: str, **more: str) -> set[str]:
    response = await harness.client.get(f"/api/{kind}", params={"q": q, **more}, headers=headers)
    assert response.status_code == 200, response.text
    return {item["doc_id"] for item in response.json()["items"]}


def shown(page: str, doc_ids: list[str]) -> set[str]:
    """Which of `doc_ids` a console list page shows as rows."""
    return {doc_id for doc_id in doc_ids if f'data-doc="{doc_id}"' in page}


@pytest.fixture
async def setup(database_url: str, tmp_path: Path) -> Any:
    async with running_app(database_url) as harness:
        w = await world(harness, tmp_path)
        try:
            yield harness, w
        finally:
            for tablet, _ in w.tablets.values():
                await tablet.close()


async def test_search_finds_by_every_word_in_the_callers_grids_only(setup: Any) -> None:
    harness, w = setup
    zhang, zhao = await session_headers(harness, w.zhang), await session_headers(harness, w.zhao)
    assert await found(harness, zhang, "visits", "独居") == {w.lonely}
    assert await found(harness, zhao, "visits", "独居") == {w.other_lonely}
    assert await found(harness, zhang, "visits", "独居 送餐") == {w.lonely}
    assert await found(harness, zhang, "visits", "独居 不存在的词") == set()
    # A visit is found by its household's address; another community's is not.
    assert await found(harness, zhang, "visits", "幸福里小区") == {w.lonely, w.literal}
    assert await found(harness, zhang, "households", "幸福里 501") == {w.home}
    assert await found(harness, zhang, "households", "李秀英") == {w.home}  # a member's name
    assert await found(harness, zhang, "cases", "噪音") == {w.case}
    assert await found(harness, zhang, "cases", "王五") == {w.case}  # a party's name
    assert await found(harness, zhang, "cases", "幸福里3幢") == {w.case}  # its place
    # Other filters still apply; a grid outside the caller's area gives nothing.
    assert await found(harness, zhang, "visits", "幸福里", purpose="routine") == {w.literal}
    assert await found(harness, zhang, "visits", "独居", grid="G3") == set()
    # % and _ are plain characters, not wildcards.
    assert await found(harness, zhang, "visits", "100%_") == {w.literal}
    assert await found(harness, zhang, "visits", "%") == {w.literal}
    assert await found(harness, zhang, "visits", "独_") == set()
    too_long = await harness.client.get("/api/visits", params={"q": "字" * 201}, headers=zhang)
    assert too_long.status_code == 400 and too_long.json()["reason"] == "search_too_long"

    # The console's list: the search box, the rows, and the other community's row absent.
    page = await harness.client.get("/console/visits", params={"q": "独居"}, headers=zhang)
    assert page.status_code == 200 and 'name="q"' in page.text
    assert 'value="独居"' in page.text
    assert shown(page.text, [w.lonely, w.literal, w.other_lonely]) == {w.lonely}
    page = await harness.client.get("/console/visits", params={"q": "独居"}, headers=zhao)
    assert shown(page.text, [w.lonely, w.other_lonely]) == {w.other_lonely}
    # The export of the searched list holds the same records.
    export = await harness.client.get(
        "/console/visits/export", params={"q": "独居", "format": "csv"}, headers=zhang
    )
    assert export.status_code == 200
    assert w.lonely in export.text and w.literal not in export.text
    assert w.other_lonely not in export.text
    export = await harness.client.get("/api/visits/export", params={"q": "独居"}, headers=zhang)
    assert w.lonely in export.text and w.literal not in export.text
    assert w.other_lonely not in export.text


async def test_personal_numbers_match_only_for_roles_that_may_see_them(setup: Any) -> None:
    harness, w = setup
    coordinator = await session_headers(harness, w.zhang)
    member = await device_headers(harness, w.wang)  # reads G1's records, masked
    member_browser = await session_headers(harness, w.wang)
    machine = await machine_headers(harness, ["C1"])
    for headers in (member, machine):
        assert await found(harness, headers, "households", "幸福里") == {w.home}  # reads it
        # …but no part of the masked phone or ID number tells whether it is there.
        for probe in (PHONE, "3812", "5678", ID_NUMBER[:6], "1123X"):
            assert await found(harness, headers, "households", probe) == set(), probe
        assert await found(harness, headers, "visits", PHONE) == set()
        assert await found(harness, headers, "cases", CONTACT) == set()
        assert await found(harness, headers, "cases", "0000") == set()
    export = await harness.client.get(
        "/api/households/export", params={"q": "3812"}, headers=machine
    )
    assert export.status_code == 200 and w.home not in export.text
    page = await harness.client.get(
        "/console/households", params={"q": "3812"}, headers=member_browser
    )
    assert page.status_code == 200 and shown(page.text, [w.home]) == set()

    # A coordinator may see them in full (asking `reveal`): the search matches them.
    assert await found(harness, coordinator, "households", PHONE) == {w.home}
    assert await found(harness, coordinator, "households", ID_NUMBER) == {w.home}
    assert await found(harness, coordinator, "visits", "3812") == {w.lonely, w.literal}
    assert await found(harness, coordinator, "cases", CONTACT) == {w.case}
    page = await harness.client.get("/console/households", params={"q": PHONE}, headers=coordinator)
    assert shown(page.text, [w.home, w.other_home]) == {w.home}
    table = page.text.split('id="records"')[1]
    assert "138****5678" in table and PHONE not in table  # the list stays masked
    export = await harness.client.get(
        "/api/households/export", params={"q": PHONE}, headers=coordinator
    )
    assert w.home in export.text and PHONE not in export.text
    # The audit log keeps what was searched for, masked as well.
    async with harness.services.database.connect() as connection:
        searched = (
            await connection.scalars(
                sa.select(audit_log.c.detail).where(
                    audit_log.c.username == "zhang",
                    audit_log.c.action.in_(["records.listed", "records.exported"]),
                )
            )
        ).all()
    queries = {detail["filters"].get("q") for detail in searched}
    assert "138****5678" in queries and all(PHONE not in str(detail) for detail in searched)
