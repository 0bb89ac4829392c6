"""ID numbers, phone numbers and contacts are masked wherever the read API shows them, unless
someone with the right asks to see them in full; every read and every reveal is audited."""

from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa

from server.access.org import Level, Unit
from server.access.roles import Role
from server.db.access_tables import audit_log

from .harness import (
    Harness,
    device_headers,
    machine_headers,
    org,
    person,
    running_app,
    session_headers,
)
from .test_projection import settled

PHONE, NEW_PHONE, OTHER_PHONE = "13812345678", "13811112222", "13933334444"
ID_NUMBER, CONTACT, NOTE_CONTACT = "330102194101011234", "13900001111", "13700005555"
BAD_PHONE = "1381234567800"  # two digits too many: not projected, an issue
IN_FULL = [PHONE, NEW_PHONE, OTHER_PHONE, ID_NUMBER, CONTACT, NOTE_CONTACT, BAD_PHONE]


async def records_with_personal_data(harness: Harness, tmp_path: Path) -> dict[str, str]:
    """A household whose phone two tablets changed offline (a conflict), with a member's ID
    number; a case with a party's contact and a note naming another; a household whose
    phone is not a valid number (an issue)."""
    await org(
        harness,
        Unit("S", "临平街道", Level.STREET),
        Unit("C", "东湖社区", Level.COMMUNITY, "S"),
        Unit("G1", "一网格", Level.GRID, "C"),
    )
    alice, _ = await harness.tablet(tmp_path / "a.sqlite3", "G1", "王芳")
    bob, _ = await harness.tablet(tmp_path / "b.sqlite3", "G1", "李强")
    member = {"name": "张三", "relation": "户主", "id_number": ID_NUMBER}
    home = alice.new_record("household", "G1", {"head_name": "张三", "phone": PHONE})
    home.set("members", [member])
    case = alice.new_record("case", "G1", {"title": "邻里噪音", "type": "neighbours"})
    case.set("parties", [{"name": "赵六", "role": "applicant", "contact": CONTACT}])
    case.add_note("电话沟通", kind="mediation", method="phone", contact=NOTE_CONTACT)
    bad = alice.new_record("household", "G1", {"head_name": "钱七", "phone": BAD_PHONE})
    await alice.sync()
    await bob.sync()
    alice.record(home.id).set("phone", NEW_PHONE)  # both offline: a conflict
    bob.record(home.id).set("phone", OTHER_PHONE)
    for tablet in (alice, bob, alice):
        await tablet.sync()
    for tablet in (alice, bob):
        await tablet.close()
    await settled(harness)
    return {"household": home.id, "case": case.id, "bad": bad.id}


async def get(harness: Harness, headers: dict[str, str], path: str, **params: Any) -> Any:
    response = await harness.client.get(path, params=params, headers=headers)
    return response


async def audit(harness: Harness, action: str) -> list[Any]:
    async with harness.services.database.connect() as connection:
        rows = await connection.execute(
            sa.select(audit_log).where(audit_log.c.action == action).order_by(audit_log.c.id)
        )
        return list(rows)


@pytest.fixture
async def harness(database_url: str) -> AsyncIterator[Harness]:
    async with running_app(database_url) as h:
        yield h


async def test_personal_data_is_masked_in_lists_details_history_conflicts_and_issues(
    harness: Harness, tmp_path: Path
) -> None:
    docs = await records_with_personal_data(harness, tmp_path)
    member = await device_headers(harness, await person(harness, Role.GRID_MEMBER, ["G1"], "m"))
    listed = (await get(harness, member, "/api/households", has_conflict="true")).json()
    assert listed["items"][0]["phone"] in {"138****2222", "139****4444"}
    household = (await get(harness, member, f"/api/households/{docs['household']}")).json()
    assert household["record"]["phone"] in {"138****2222", "139****4444"}
    assert household["children"]["members"][0]["id_number"] == "330***********1234"
    phones = [h["value"] for h in household["history"] if h["field"] == "phone"]
    assert sorted(phones) == ["138****2222", "138****5678", "139****4444"]
    [members] = [h["value"] for h in household["history"] if h["field"] == "members"]
    assert members[0]["id_number"] == "330***********1234" and members[0]["name"] == "张三"
    [conflict] = household["conflicts"]
    assert sorted(e["value"] for e in conflict["entries"]) == ["138****2222", "139****4444"]
    assert conflict["current_value"] in {"138****2222", "139****4444"}
    case = (await get(harness, member, f"/api/cases/{docs['case']}")).json()
    assert case["children"]["parties"][0]["contact"] == "139****1111"
    assert case["notes"][0]["extra"]["contact"] == "137****5555"
    bad = (await get(harness, member, f"/api/households/{docs['bad']}")).json()
    assert [h["value"] for h in bad["history"] if h["field"] == "phone"] == ["138******7800"]
    assert [i["path"] for i in bad["issues"]] == ["fields.phone"]

    everywhere = ["/api/households", "/api/cases", f"/api/households/{docs['household']}"]
    everywhere += [f"/api/households/{docs['bad']}", f"/api/cases/{docs['case']}"]
    for path in everywhere:
        body = (await get(harness, member, path)).content
        assert not [value for value in IN_FULL if value.encode() in body], path


async def test_reveal_needs_the_right_and_is_audited(harness: Harness, tmp_path: Path) -> None:
    docs = await records_with_personal_data(harness, tmp_path)
    refused = {
        "grid member": await device_headers(
            harness, await person(harness, Role.GRID_MEMBER, ["G1"], "member")
        ),
        "machine": await machine_headers(harness, ["G1"]),
    }
    for who, headers in refused.items():
        for path in ["/api/households", f"/api/households/{docs['household']}"]:
            response = await get(harness, headers, path, reveal="true")
            assert (response.status_code, response.json()["reason"]) == (403, "forbidden"), who
    tries = await audit(harness, "record.revealed")
    assert [r.outcome for r in tries] == ["denied"] * 4  # refused, and recorded
    assert {r.username for r in tries} == {"member", None}  # None: the machine token

    coordinator = await person(harness, Role.COORDINATOR, ["C"], "coordinator")
    browser = await session_headers(harness, coordinator)
    listed = await get(harness, browser, "/api/households", has_conflict="true", reveal="true")
    assert listed.json()["items"][0]["phone"] in {NEW_PHONE, OTHER_PHONE}
    detail = await get(harness, browser, f"/api/households/{docs['household']}", reveal="true")
    case = await get(harness, browser, f"/api/cases/{docs['case']}", reveal="true")
    shown = detail.content + case.content
    assert all(value.encode() in shown for value in [PHONE, ID_NUMBER, CONTACT, NOTE_CONTACT])
    masked = await get(harness, browser, f"/api/households/{docs['household']}")
    assert ID_NUMBER.encode() not in masked.content  # in full only when asked

    revealed = [r for r in await audit(harness, "record.revealed") if r.outcome == "ok"]
    assert [(r.username, r.target) for r in revealed] == [
        ("coordinator", None),
        ("coordinator", docs["household"]),
        ("coordinator", docs["case"]),
    ]
    assert revealed[0].detail == {"docs": [docs["household"]]}
    viewed = await audit(harness, "record.viewed")
    assert [r.target for r in viewed if r.username == "coordinator"] == [
        docs["household"],
        docs["case"],
        docs["household"],
    ]
    [listing] = [r for r in await audit(harness, "records.listed") if r.username == "coordinator"]
    filters = {"has_conflict": True}
    assert listing.detail == {"kind": "households", "filters": filters, "docs": [docs["household"]]}
    assert listing.target_kind == "households" and listing.ip == "127.0.0.1"
