"""Review actions and conflict resolution: the server writes the decision into the record's
document, and real SDK tablets see it at their next sync."""

import asyncio
from pathlib import Path
from typing import Any

import httpx
import sqlalchemy as sa
from pycrdt import Map

from server.access.audit import SYSTEM
from server.access.roles import Role
from server.db.access_tables import audit_log
from server.db.tables import updates

from .harness import (
    PASSWORD,
    TWO_COMMUNITIES,
    Harness,
    Person,
    machine_headers,
    org,
    running_app,
    session_headers,
)
from .test_projection import HOUSEHOLD, settled

Headers = dict[str, str]


async def world(harness: Harness) -> tuple[Headers, Headers, Headers]:
    """Street S1 → communities C1 (grids G1, G2) and C2 (grid G3). Sessions of 张敏, who
    coordinates C1; of 赵磊, who coordinates C2; and of 王芳, a grid member of G1."""
    access = harness.services.access
    await org(harness, *TWO_COMMUNITIES)
    sessions = []
    for username, name, role, unit in [
        ("zhang", "张敏", Role.COORDINATOR, "C1"),
        ("zhao", "赵磊", Role.COORDINATOR, "C2"),
        ("wang", "王芳", Role.GRID_MEMBER, "G1"),
    ]:
        account = await access.accounts.create(username, name, role, [unit], PASSWORD, SYSTEM)
        sessions.append(await session_headers(harness, Person(account, username, role)))
    return sessions[0], sessions[1], sessions[2]


async def post(harness: Harness, headers: Headers, path: str, body: Any) -> httpx.Response:
    return await harness.client.post(path, json=body, headers=headers)


async def detail(harness: Harness, headers: Headers, path: str) -> Any:
    await settled(harness)
    response = await harness.client.get(path, params={"reveal": "true"}, headers=headers)
    assert response.status_code == 200, response.text
    return response.json()


async def listed(harness: Harness, headers: Headers, kind: str, **params: str) -> list[str]:
    await settled(harness)
    response = await harness.client.get(f"/api/{kind}", params=params, headers=headers)
    return [item["doc_id"] for item in response.json()["items"]]


async def audited(harness: Harness, action: str) -> list[dict[str, Any]]:
    async with harness.services.database.connect() as connection:
        rows = await connection.execute(
            sa.select(audit_log).where(audit_log.c.action == action).order_by(audit_log.c.id)
        )
        return [dict(row) for row in rows.mappings()]


async def server_updates(harness: Harness, doc_id: str) -> int:
    async with harness.services.database.connect() as connection:
        count = await connection.scalar(
            sa.select(sa.func.count())
            .select_from(updates)
            .where(updates.c.doc_id == doc_id, updates.c.device == "server")
        )
        return count or 0


async def test_sent_back_reaches_the_tablet_and_comes_back_edited(
    database_url: str, tmp_path: Path
) -> None:
    async with running_app(database_url) as harness:
        zhang, _, _ = await world(harness)
        wang, _ = await harness.tablet(tmp_path / "w.sqlite3", "G1", "王芳")
        home = wang.new_record("household", "G1", HOUSEHOLD)
        visit = wang.new_record("visit", "G1", {"household": home.id, "purpose": "care_visit"})
        await wang.sync()

        answer = await post(
            harness,
            zhang,
            f"/api/visits/{visit.id}/review",
            {"action": "send_back", "comment": "补充住户电话"},
        )
        assert answer.status_code == 200, answer.text
        assert answer.json()["review"]["state"] == "sent_back"
        seen = await detail(harness, zhang, f"/api/visits/{visit.id}")
        assert seen["record"]["review_state"] == "sent_back"
        assert [(n["kind"], n["text"], n["by"]) for n in seen["notes"]] == [
            ("review", "补充住户电话", "张敏")
        ]
        assert await server_updates(harness, visit.id) == 1

        await wang.sync()  # the tablet that wrote the record pulls the decision too
        on_tablet = wang.record(visit.id)
        assert on_tablet.review["state"] == "sent_back"
        assert on_tablet.review["comment"] == "补充住户电话"
        assert on_tablet.review["by_name"] == "张敏" and on_tablet.review["by"] == "zhang"
        assert on_tablet.review["at"].endswith("+08:00")
        [note] = on_tablet.notes
        assert (note["kind"], note["action"], note["text"]) == (
            "review",
            "send_back",
            "补充住户电话",
        )

        on_tablet.set("findings", "住户电话 13800138000")  # fixed offline
        await wang.sync()
        seen = await detail(harness, zhang, f"/api/visits/{visit.id}")
        assert seen["record"]["review_state"] == "edited"
        assert await listed(harness, zhang, "visits", review="edited") == [visit.id]
        assert await listed(harness, zhang, "visits", review="sent_back") == []

        answer = await post(harness, zhang, f"/api/visits/{visit.id}/review", {"action": "approve"})
        assert answer.json()["review"] == {**answer.json()["review"], "state": "approved"}
        assert await listed(harness, zhang, "visits", review="approved") == [visit.id]
        await wang.sync()
        assert wang.record(visit.id).review["state"] == "approved"
        assert [n["action"] for n in wang.record(visit.id).notes] == ["send_back", "approve"]
        assert [n["text"] for n in wang.record(visit.id).notes][1] == "审核通过"

        entries = await audited(harness, "record.reviewed")
        assert [(e["username"], e["target"], e["detail"]) for e in entries] == [
            ("zhang", visit.id, {"action": "send_back", "comment": "补充住户电话"}),
            ("zhang", visit.id, {"action": "approve", "comment": None}),
        ]
        await wang.close()


async def test_tablets_still_may_not_write_review(database_url: str, tmp_path: Path) -> None:
    async with running_app(database_url) as harness:
        await world(harness)
        wang, _ = await harness.tablet(tmp_path / "w.sqlite3", "G1", "王芳")
        visit = wang.new_record("visit", "G1", {"purpose": "routine"})
        await wang.sync()
        record = wang.record(visit.id)
        with record.edit():
            record.doc.get("review", type=Map)["state"] = "approved"
        report = await wang.sync()
        assert [r.reason for r in report.refused] == ["server_owned_root"]
        await wang.close()


async def test_a_case_is_accepted_escalated_to_the_street_and_closed(
    database_url: str, tmp_path: Path
) -> None:
    async with running_app(database_url) as harness:
        zhang, _, _ = await world(harness)
        wang, _ = await harness.tablet(tmp_path / "w.sqlite3", "G1", "王芳")
        case = wang.new_record("case", "G1", {"title": "楼道堆物", "type": "neighbours"})
        visit = wang.new_record("visit", "G1", {"purpose": "routine"})
        await wang.sync()
        path = f"/api/cases/{case.id}/review"

        async def act(body: dict[str, Any], status: int = 200) -> Any:
            response = await post(harness, zhang, path, body)
            assert response.status_code == status, response.text
            return response.json()

        assert (await act({"action": "accept"}))["fields"]["status"] == "accepted"
        assert (await act({"action": "escalate"}, 400))["reason"] == "reason_required"
        problem = await act({"action": "escalate", "reason": "x", "level": "street"}, 409)
        assert problem["reason"] == "level_changed"
        escalated = await act(
            {"action": "escalate", "reason": "涉及多个小区", "level": "community"}
        )
        assert escalated["fields"]["level"] == "community"
        assert escalated["review"]["state"] == "escalated"
        await act({"action": "escalate", "reason": "社区调解不成"})
        assert (await act({"action": "escalate", "reason": "再上报"}, 400))["reason"] == (
            "cannot_escalate"
        )
        await act({"action": "close", "comment": "双方达成协议"})

        seen = await detail(harness, zhang, f"/api/cases/{case.id}")
        record = seen["record"]
        assert (record["level"], record["status"], record["review_state"]) == (
            "street",
            "closed",
            "closed",
        )
        mine = [(h["field"], h["value"], h["by"]) for h in seen["history"] if h["by"] == "张敏"]
        assert mine == [
            ("status", "accepted", "张敏"),
            ("level", "community", "张敏"),
            ("status", "escalated", "张敏"),
            ("level", "street", "张敏"),
            ("status", "escalated", "张敏"),
            ("status", "closed", "张敏"),
        ]
        assert [n["extra"]["action"] for n in seen["notes"]] == [
            "accept",
            "escalate",
            "escalate",
            "close",
        ]
        await wang.sync()
        assert wang.record(case.id).fields["level"] == "street"

        response = await post(harness, zhang, f"/api/visits/{visit.id}/review", {"action": "close"})
        assert (response.status_code, response.json()["reason"]) == (400, "action_not_for_kind")
        response = await post(
            harness, zhang, f"/api/visits/{visit.id}/review", {"action": "send_back"}
        )
        assert (response.status_code, response.json()["reason"]) == (400, "comment_required")
        # A visit's id under /cases is answered like an absent case.
        response = await post(
            harness, zhang, f"/api/cases/{visit.id}/review", {"action": "approve"}
        )
        assert (response.status_code, response.json()["reason"]) == (404, "unknown_record")
        assert await server_updates(harness, visit.id) == 0
        await wang.close()


async def test_bulk_approve_reports_each_record(database_url: str, tmp_path: Path) -> None:
    async with running_app(database_url) as harness:
        zhang, _, _ = await world(harness)
        wang, _ = await harness.tablet(tmp_path / "w.sqlite3", "G1", "王芳")
        li, _ = await harness.tablet(tmp_path / "l.sqlite3", "G3", "李强")
        mine = [wang.new_record("visit", "G1", {"purpose": "routine"}).id for _ in range(3)]
        theirs = li.new_record("visit", "G3", {"purpose": "routine"}).id
        for tablet in (wang, li):
            await tablet.sync()
        ids = [*mine, theirs, "not-a-uuid"]
        response = await post(
            harness, zhang, "/api/visits/review", {"doc_ids": ids, "action": "approve"}
        )
        assert response.status_code == 200, response.text
        assert [
            (r["doc_id"], r["status"], r.get("reason")) for r in response.json()["results"]
        ] == [
            *[(doc_id, "approved", None) for doc_id in mine],
            (theirs, "refused", "unknown_record"),
            ("not-a-uuid", "refused", "unknown_record"),
        ]
        assert sorted(await listed(harness, zhang, "visits", review="approved")) == sorted(mine)
        assert await server_updates(harness, theirs) == 0
        await wang.sync()
        assert {wang.record(doc_id).review["state"] for doc_id in mine} == {"approved"}
        for tablet in (wang, li):
            await tablet.close()


async def test_a_conflict_is_resolved_like_the_sdk_would(database_url: str, tmp_path: Path) -> None:
    async with running_app(database_url) as harness:
        zhang, _, _ = await world(harness)
        alice, _ = await harness.tablet(tmp_path / "a.sqlite3", "G1", "王芳")
        bob, _ = await harness.tablet(tmp_path / "b.sqlite3", "G1", "李强")
        home = alice.new_record("household", "G1", {**HOUSEHOLD, "phone": "13800000000"})
        await alice.sync()
        await bob.sync()
        alice.record(home.id).set("phone", "13811111111")  # both offline
        bob.record(home.id).set("phone", "13922222222")
        for tablet in (alice, bob, alice):
            await tablet.sync()
        [conflict] = (await detail(harness, zhang, f"/api/households/{home.id}"))["conflicts"]
        path = f"/api/households/{home.id}/conflicts/{conflict['conflict_id']}/resolve"

        response = await post(harness, zhang, path, {"value": "13933333333"})  # a new value
        assert response.status_code == 200, response.text
        seen = await detail(harness, zhang, f"/api/households/{home.id}")
        assert seen["conflicts"] == [] and seen["record"]["has_conflict"] is False
        assert seen["record"]["phone"] == "13933333333"
        assert await listed(harness, zhang, "households", has_conflict="true") == []
        last = seen["history"][-1]
        assert (last["by"], last["value"]) == ("张敏", "13933333333")
        assert sorted(last["prev"]) == sorted(e["entry_id"] for e in conflict["entries"])

        response = await post(harness, zhang, path, {"value": "13800000000"})
        assert (response.status_code, response.json()["reason"]) == (404, "unknown_conflict")
        for tablet in (alice, bob):
            await tablet.sync()
            assert tablet.record(home.id).get("phone") == "13933333333"
            assert tablet.record(home.id).current_writes("phone") == [last["entry_id"]]
        done, refused = await audited(harness, "conflict.resolved")
        assert done["detail"] == {"conflict": conflict["conflict_id"], "field": "phone"}
        assert (refused["outcome"], refused["detail"]["reason"]) == (
            "not_found",
            "unknown_conflict",
        )
        for tablet in (alice, bob):
            await tablet.close()


async def test_outsiders_and_members_change_nothing(database_url: str, tmp_path: Path) -> None:
    async with running_app(database_url) as harness:
        _, zhao, wang_session = await world(harness)
        wang, _ = await harness.tablet(tmp_path / "w.sqlite3", "G1", "王芳")
        visit = wang.new_record("visit", "G1", {"purpose": "routine"})
        await wang.sync()
        before = await harness.stored_update_count()
        path = f"/api/visits/{visit.id}/review"
        body = {"action": "approve"}

        response = await post(harness, zhao, path, body)  # another community's coordinator
        assert (response.status_code, response.json()["reason"]) == (404, "unknown_record")
        response = await post(
            harness, zhao, "/api/visits/review", {"doc_ids": [visit.id], "action": "approve"}
        )
        assert response.json()["results"][0]["reason"] == "unknown_record"
        for headers in (wang_session, await machine_headers(harness, ["C1"])):
            response = await post(harness, headers, path, body)
            assert (response.status_code, response.json()["reason"]) == (403, "forbidden")
        device = {"Authorization": f"Bearer {await harness.token('G1')}"}
        response = await post(harness, device, path, body)
        assert (response.status_code, response.json()["reason"]) == (403, "forbidden")
        no_csrf = {"Cookie": zhao["Cookie"]}  # a forged cross-site form
        response = await post(harness, no_csrf, path, body)
        assert response.status_code == 403
        assert await harness.stored_update_count() == before
        assert [e["outcome"] for e in await audited(harness, "record.reviewed")] == [
            "not_found",
            "not_found",
        ]
        await wang.close()


async def test_a_review_and_a_tablet_push_at_once_are_both_kept(
    database_url: str, tmp_path: Path
) -> None:
    async with running_app(database_url) as harness:
        zhang, _, _ = await world(harness)
        wang, _ = await harness.tablet(tmp_path / "w.sqlite3", "G1", "王芳")
        visit = wang.new_record("visit", "G1", {"purpose": "routine"})
        await wang.sync()
        wang.record(visit.id).set("findings", "楼道灯坏了")
        wang.record(visit.id).add_note("已联系物业")
        path = f"/api/visits/{visit.id}/review"
        other = {"action": "send_back", "comment": "写明楼栋"}
        reviewed, pushed, again = await asyncio.gather(
            post(harness, zhang, path, {"action": "approve"}),
            wang.sync(),
            post(harness, zhang, path, other),
        )
        assert (reviewed.status_code, again.status_code, pushed.refused) == (200, 200, [])
        await wang.sync()
        record = wang.record(visit.id)
        assert record.get("findings") == "楼道灯坏了"
        assert sorted(n["text"] for n in record.notes) == ["写明楼栋", "审核通过", "已联系物业"]
        assert record.review["state"] in {"approved", "sent_back"}
        seen = await detail(harness, zhang, f"/api/visits/{visit.id}")
        assert seen["record"]["findings"] == "楼道灯坏了" and len(seen["notes"]) == 3
        await wang.close()
