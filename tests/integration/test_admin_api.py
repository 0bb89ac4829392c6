"""The admin API as an admin (or a coordinator) at a desk sees it: the org tree and its
CSV import, accounts, tablets, machine tokens and the audit log."""

import uuid
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
import sqlalchemy as sa

from server.access.audit import SYSTEM
from server.access.authenticate import SESSION_COOKIE
from server.access.org import Level, Unit
from server.access.roles import Role
from server.access.secrets import csrf_token
from server.db.access_tables import audit_log
from server.errors import ClientError

from .harness import Harness, running_app

PASSWORD = "correct horse battery"


@pytest.fixture
async def harness(database_url: str) -> AsyncIterator[Harness]:
    async with running_app(database_url) as h:
        yield h


@dataclass
class Desk:
    """A browser signed in as one account: the session cookie, and the CSRF token on writes."""

    client: httpx.AsyncClient
    secret: str
    account_id: str

    def _headers(self, write: bool) -> dict[str, str]:
        headers = {"Cookie": f"{SESSION_COOKIE}={self.secret}"}
        return headers | {"X-CSRF-Token": csrf_token(self.secret)} if write else headers

    async def get(self, path: str, **params: Any) -> httpx.Response:
        return await self.client.get(path, params=params, headers=self._headers(False))

    async def post(self, path: str, body: Any = None, **params: Any) -> httpx.Response:
        return await self.client.post(path, json=body, params=params, headers=self._headers(True))

    async def patch(self, path: str, body: Any) -> httpx.Response:
        return await self.client.patch(path, json=body, headers=self._headers(True))

    async def upload(self, path: str, data: bytes, **params: Any) -> httpx.Response:
        headers = self._headers(True) | {"Content-Type": "text/csv"}
        return await self.client.post(path, content=data, params=params, headers=headers)


async def sign_in(harness: Harness, role: Role = Role.ADMIN, units: Sequence[str] = ()) -> Desk:
    access = harness.services.access
    username = f"{role.value}-{uuid.uuid4().hex[:6]}"
    account_id = await access.accounts.create(username, "某人", role, units, PASSWORD, SYSTEM)
    session = await access.sessions.login(username, PASSWORD, "10.0.0.9")
    return Desk(harness.client, session.secret, account_id)


async def tree(harness: Harness) -> None:
    """Street S: community C1 (grids G1, G2) and C2 (grid G3)."""
    await harness.services.access.org.put(
        [
            Unit("S", "临平街道", Level.STREET),
            Unit("C1", "东湖社区", Level.COMMUNITY, "S"),
            Unit("C2", "西湖社区", Level.COMMUNITY, "S"),
            Unit("G1", "一网格", Level.GRID, "C1"),
            Unit("G2", "二网格", Level.GRID, "C1"),
            Unit("G3", "三网格", Level.GRID, "C2"),
        ],
        SYSTEM,
    )


async def grids_of(harness: Harness, desk: Desk) -> frozenset[str]:
    principal = await harness.services.access.sessions.authenticate(desk.secret, None)
    return principal.grids


async def units_by_code(desk: Desk) -> dict[str, dict[str, Any]]:
    response = await desk.get("/api/admin/units")
    assert response.status_code == 200
    return {unit["code"]: unit for unit in response.json()["items"]}


async def audit_rows(harness: Harness) -> list[dict[str, Any]]:
    async with harness.services.database.connect() as connection:
        rows = await connection.execute(sa.select(audit_log).order_by(audit_log.c.id))
        return [dict(row._mapping) for row in rows]


async def test_units_are_created_renamed_and_moved(harness: Harness) -> None:
    admin = await sign_in(harness)
    for body in (
        {"code": "S", "name": "临平街道", "level": "street"},
        {"code": "S2", "name": "南苑街道", "level": "街道"},
        {"code": "C1", "name": "东湖社区", "level": "community", "parent": "S"},
        {"code": "C2", "name": "西湖社区", "level": "community", "parent": "S"},
        {"code": "G1", "name": "一网格", "level": "grid", "parent": "C1"},
    ):
        response = await admin.post("/api/admin/units", body)
        assert response.status_code == 201, response.text
    coordinator = await sign_in(harness, Role.COORDINATOR, ["C1"])
    assert await grids_of(harness, coordinator) == {"G1"}

    units = await units_by_code(admin)
    assert list(units) == ["S", "S2", "C1", "C2", "G1"]  # streets, communities, grids
    assert units["G1"] == {
        "code": "G1",
        "name": "一网格",
        "level": "grid",
        "level_label": "网格",
        "parent": "C1",
    }

    moved = await admin.patch("/api/admin/units/G1", {"parent": "C2", "name": "东湖一网格"})
    assert moved.status_code == 200 and moved.json()["parent"] == "C2"
    assert await grids_of(harness, coordinator) == frozenset()  # the grid left its community
    assert (await admin.patch("/api/admin/units/C1", {"parent": "S2"})).status_code == 200
    assert (await units_by_code(admin))["C1"]["parent"] == "S2"
    renamed = await admin.patch("/api/admin/units/S", {"name": "临平街道办"})
    assert renamed.json()["name"] == "临平街道办"
    actions = [(row["action"], row["target"]) for row in await audit_rows(harness)]
    assert ("org_unit.moved", "G1") in actions and ("org_unit.renamed", "S") in actions

    refused = {
        ("post", "/api/admin/units", "S"): {"code": "S", "name": "x", "level": "street"},
        ("post", "/api/admin/units", "C9"): {"code": "C9", "name": "x", "level": "community"},
        ("post", "/api/admin/units", "G9"): {
            "code": "G9",
            "name": "x",
            "level": "grid",
            "parent": "S",
        },
        ("post", "/api/admin/units", "?"): {"code": "a b", "name": "x", "level": "grid"},
        ("post", "/api/admin/units", "L"): {"code": "X", "name": "x", "level": "city"},
        ("patch", "/api/admin/units/G1", "P"): {"parent": "S2"},
        ("patch", "/api/admin/units/G1", "L"): {"level": "street"},
        ("patch", "/api/admin/units/G404", "-"): {"name": "x"},
    }
    answers = []
    for (method, path, _), body in refused.items():
        response = await getattr(admin, method)(path, body)
        answers.append((response.status_code, response.json()["reason"]))
    assert answers == [
        (409, "unit_exists"),
        (400, "parent_required"),
        (400, "wrong_parent"),
        (400, "malformed_request"),
        (400, "unknown_level"),
        (400, "wrong_parent"),
        (400, "malformed_request"),  # a unit's level never changes
        (404, "unknown_unit"),
    ]
    assert len(await units_by_code(admin)) == 5


CSV = """\ufeffcode,name,level,parent
G1,一网格,网格,C1
C1,东湖社区,社区,S
S,临平街道,街道,
G2,"二网格, 北区",grid,C1
C2,西湖社区,community,S
"""


async def test_csv_import_previews_applies_and_is_idempotent(harness: Harness) -> None:
    admin = await sign_in(harness)
    preview = await admin.upload("/api/admin/units/import", CSV.encode(), dry_run="true")
    assert preview.status_code == 200, preview.text
    expected = [
        "org_unit.created S",
        "org_unit.created C1",
        "org_unit.created C2",
        "org_unit.created G1",
        "org_unit.created G2",
    ]
    assert preview.json() == {"changes": expected, "errors": [], "applied": False}
    assert await units_by_code(admin) == {}

    applied = await admin.upload("/api/admin/units/import", CSV.encode())
    assert applied.json() == {"changes": expected, "errors": [], "applied": True}
    units = await units_by_code(admin)
    assert units["G2"]["name"] == "二网格, 北区" and units["G2"]["parent"] == "C1"
    again = await admin.upload("/api/admin/units/import", CSV.encode(), dry_run="false")
    assert again.json() == {"changes": [], "errors": [], "applied": True}

    moves = "code,name,level,parent\nG1,一网格,grid,C2\nG2,二网格,grid,C1\n"
    preview = await admin.upload("/api/admin/units/import", moves.encode(), dry_run="true")
    assert preview.json()["changes"] == ["org_unit.moved G1", "org_unit.renamed G2"]
    assert (await units_by_code(admin))["G1"]["parent"] == "C1"
    applied = await admin.upload("/api/admin/units/import", moves.encode())
    assert applied.json()["changes"] == ["org_unit.moved G1", "org_unit.renamed G2"]
    assert (await units_by_code(admin))["G1"]["parent"] == "C2"


async def test_csv_import_with_a_bad_row_applies_nothing(harness: Harness) -> None:
    admin = await sign_in(harness)
    await tree(harness)
    before = await units_by_code(admin)
    bad = (
        "code,name,level,parent\n"
        "G4,四网格,grid,C2\n"  # fine on its own
        "C1,东湖社区,community,S\n"  # fine, unchanged
        "G5,,grid,C1\n"
        "G6,六网格,grid,C404\n"
        "G7,七网格,grid,S\n"
        "G4,四网格,grid,C1\n"
        "G1,一网格,community,S\n"
    )
    for dry_run in ("true", "false"):
        response = await admin.upload("/api/admin/units/import", bad.encode(), dry_run=dry_run)
        assert response.status_code == 422
        assert response.headers["content-type"] == "application/problem+json"
        problem = response.json()
        assert (problem["reason"], problem["applied"], problem["changes"]) == (
            "invalid_rows",
            False,
            [],
        )
        assert [error["line"] for error in problem["errors"]] == [4, 5, 6, 7, 8]
        assert "G4 is already on line 2" in problem["errors"][3]["message"]
    assert await units_by_code(admin) == before

    gbk = "code,name,level,parent\nG8,八网格,grid,C1\n".encode("gbk")
    response = await admin.upload("/api/admin/units/import", gbk)
    assert (response.status_code, response.json()["reason"]) == (400, "not_utf8")
    response = await admin.post("/api/admin/units/import", {"code": "G8"})
    assert (response.status_code, response.json()["reason"]) == (415, "unsupported_media_type")
    assert await units_by_code(admin) == before


async def test_accounts_are_created_listed_and_moved(harness: Harness) -> None:
    admin = await sign_in(harness)
    await tree(harness)
    created = await admin.post(
        "/api/admin/accounts",
        {"username": "wang.fang", "display_name": "王芳", "role": "grid_member", "units": ["G1"]},
    )
    assert created.status_code == 201
    wang = created.json()["id"]
    await admin.post(
        "/api/admin/accounts",
        {
            "username": "li_qiang",
            "display_name": "李强",
            "role": "coordinator",
            "units": ["C2"],
            "password": PASSWORD,
        },
    )
    await harness.services.access.devices.add(wang, "王芳的平板", SYSTEM)

    listed = await admin.get("/api/admin/accounts", role="grid_member")
    assert [a["username"] for a in listed.json()["items"]] == ["wang.fang"]
    account = listed.json()["items"][0]
    assert account["role_label"] == "网格员" and account["units"] == ["G1"]
    assert (account["device_count"], account["has_password"], account["disabled"]) == (
        1,
        False,
        False,
    )
    in_c1 = await admin.get("/api/admin/accounts", unit="C1")
    assert [a["username"] for a in in_c1.json()["items"]] == ["wang.fang"]
    in_street = await admin.get("/api/admin/accounts", unit="S")
    assert {a["username"] for a in in_street.json()["items"]} == {"wang.fang", "li_qiang"}

    moved = await admin.patch(f"/api/admin/accounts/{wang}", {"units": ["G3"]})
    assert moved.status_code == 200 and moved.json()["units"] == ["G3"]
    assert [d["name"] for d in moved.json()["devices"]] == ["王芳的平板"]
    in_c1 = await admin.get("/api/admin/accounts", unit="C1")
    assert in_c1.json()["items"] == []
    changed = [r for r in await audit_rows(harness) if r["action"] == "account.changed"]
    assert changed[-1]["detail"] == {"units": ["G3"]} and changed[-1]["target"] == wang

    li = (await admin.get("/api/admin/accounts", role="coordinator")).json()["items"][0]
    disabled = await admin.patch(f"/api/admin/accounts/{li['id']}", {"disabled": True})
    assert disabled.json()["disabled"] is True
    with pytest.raises(ClientError, match="login_failed"):
        await harness.services.access.sessions.login("li_qiang", PASSWORD, None)

    everything = (await admin.get("/api/admin/accounts")).text + (
        await admin.get(f"/api/admin/accounts/{li['id']}")
    ).text
    assert "argon2" not in everything and PASSWORD not in everything


@pytest.mark.parametrize(
    ("body", "status", "reason"),
    [
        ({"username": "a b", "display_name": "x", "role": "admin"}, 400, "malformed_request"),
        ({"username": "x" * 65, "display_name": "x", "role": "admin"}, 400, "malformed_request"),
        ({"username": "ok", "display_name": "x", "role": "boss"}, 400, "malformed_request"),
        (
            {"username": "ok", "display_name": "x", "role": "admin", "x": 1},
            400,
            "malformed_request",
        ),
        (
            {"username": "ok", "display_name": "x", "role": "admin", "units": ["G9"]},
            400,
            "unknown_unit",
        ),
        (
            {"username": "ok", "display_name": "x", "role": "admin", "password": "short"},
            400,
            "weak_password",
        ),
        ({"username": "taken", "display_name": "x", "role": "admin"}, 409, "username_taken"),
    ],
)
async def test_bad_accounts_are_refused(
    harness: Harness, body: dict[str, Any], status: int, reason: str
) -> None:
    admin = await sign_in(harness)
    await harness.services.access.accounts.create("taken", "某人", Role.ADMIN, [], None, SYSTEM)
    response = await admin.post("/api/admin/accounts", body)
    assert (response.status_code, response.json()["reason"]) == (status, reason)
    usernames = [a["username"] for a in (await admin.get("/api/admin/accounts")).json()["items"]]
    assert "ok" not in usernames


async def test_an_admin_cannot_lock_themselves_out(harness: Harness) -> None:
    admin = await sign_in(harness)
    for body in ({"disabled": True}, {"role": "coordinator"}):
        response = await admin.patch(f"/api/admin/accounts/{admin.account_id}", body)
        assert (response.status_code, response.json()["reason"]) == (409, "own_account")
    renamed = await admin.patch(
        f"/api/admin/accounts/{admin.account_id}", {"display_name": "管理员"}
    )
    assert renamed.json()["display_name"] == "管理员"


async def records_status(harness: Harness, token: str) -> int:
    response = await harness.client.get("/api/visits", headers={"Authorization": f"Bearer {token}"})
    return response.status_code


async def test_enrollment_rotation_and_revocation(harness: Harness) -> None:
    admin = await sign_in(harness)
    await tree(harness)
    access = harness.services.access
    wang = await access.accounts.create("wang", "王芳", Role.GRID_MEMBER, ["G1"], None, SYSTEM)

    started = await admin.post(
        "/api/admin/enrollments", {"account_id": wang, "device_name": "王芳的平板"}
    )
    assert started.status_code == 201, started.text
    enrollment = started.json()
    code = enrollment["code"]
    assert enrollment["payload"] == (
        f"doorstep://enroll?server=http%3A%2F%2Ftestserver.local&code={code}"
    )
    assert enrollment["qr_svg"].startswith("<svg")
    assert started.headers["cache-control"] == "no-store"
    assert datetime.fromisoformat(enrollment["expires_at"]) > datetime.now(UTC)
    device = await access.devices.redeem(code, "1.4.2", None)
    with pytest.raises(ClientError, match="invalid_enrollment_code"):
        await access.devices.redeem(code, "1.4.2", None)
    assert await records_status(harness, device.token) == 200

    listed = (await admin.get("/api/admin/devices", account=wang)).json()["items"]
    assert [(d["id"], d["name"], d["app_version"], d["username"]) for d in listed] == [
        (device.id, "王芳的平板", "1.4.2", "wang")
    ]
    assert listed[0]["last_seen_at"] is not None and "token" not in str(listed[0])
    renamed = await admin.patch(f"/api/admin/devices/{device.id}", {"name": "一号平板"})
    assert renamed.json()["name"] == "一号平板"

    rotated = await admin.post(f"/api/admin/devices/{device.id}/rotate")
    assert rotated.status_code == 200 and rotated.json()["device_id"] == device.id
    assert rotated.headers["cache-control"] == "no-store"
    new_token = rotated.json()["token"]
    assert await records_status(harness, device.token) == 401  # the predecessor
    assert await records_status(harness, new_token) == 200

    assert (await admin.post(f"/api/admin/devices/{device.id}/revoke")).status_code == 204
    assert await records_status(harness, new_token) == 401
    assert (await admin.post(f"/api/admin/devices/{device.id}/revoke")).status_code == 204
    again = await admin.post(f"/api/admin/devices/{device.id}/rotate")
    assert (again.status_code, again.json()["reason"]) == (409, "device_revoked")
    shown = (await admin.get("/api/admin/devices")).json()["items"]
    assert shown[0]["revoked_at"] is not None and shown[0]["rotated_at"] is not None

    actions = [row["action"] for row in await audit_rows(harness)]
    for action in ("device.enrollment_started", "device.enrolled", "device.renamed"):
        assert action in actions
    assert actions.count("device.revoked") == 1 and "device.rotated" in actions
    logged = str(await audit_rows(harness))
    assert code not in logged and new_token not in logged and device.token not in logged


async def test_a_coordinator_manages_only_the_tablets_of_its_grids(harness: Harness) -> None:
    await tree(harness)
    access = harness.services.access
    coordinator = await sign_in(harness, Role.COORDINATOR, ["C1"])

    async def account_with_device(name: str, role: Role, units: list[str]) -> tuple[str, str]:
        account = await access.accounts.create(name, name, role, units, None, SYSTEM)
        return account, (await access.devices.add(account, f"{name}的平板", SYSTEM)).id

    inside = {
        "member": await account_with_device("member", Role.GRID_MEMBER, ["G1"]),
        "mediator": await account_with_device("mediator", Role.MEDIATOR, ["C1"]),
    }
    outside = {
        "other_grid": await account_with_device("other", Role.GRID_MEMBER, ["G3"]),
        "straddling": await account_with_device("straddling", Role.GRID_LEADER, ["G2", "G3"]),
        "colleague": await account_with_device("colleague", Role.COORDINATOR, ["C1"]),
        "nowhere": await account_with_device("nowhere", Role.GRID_MEMBER, []),
    }

    listed = (await coordinator.get("/api/admin/devices")).json()["items"]
    assert sorted(d["id"] for d in listed) == sorted(device for _, device in inside.values())
    accounts = (await coordinator.get("/api/admin/accounts")).json()["items"]
    assert sorted(a["username"] for a in accounts) == ["mediator", "member"]

    async def answers(account: str, device: str) -> list[tuple[int, Any]]:
        calls = [
            coordinator.get("/api/admin/devices", account=account),
            coordinator.get(f"/api/admin/accounts/{account}"),
            coordinator.post(
                "/api/admin/enrollments", {"account_id": account, "device_name": "新平板"}
            ),
            coordinator.patch(f"/api/admin/devices/{device}", {"name": "改名"}),
            coordinator.post(f"/api/admin/devices/{device}/rotate"),
            coordinator.post(f"/api/admin/devices/{device}/revoke"),
        ]
        return [((r := await call).status_code, r.json() if r.content else None) for call in calls]

    nobody = await answers(str(uuid.uuid4()), str(uuid.uuid4()))
    assert [status for status, _ in nobody] == [200, 404, 404, 404, 404, 404]
    before = await audit_rows(harness)
    for account, device in outside.values():
        assert await answers(account, device) == nobody  # as if it did not exist
    assert await audit_rows(harness) == before
    member, member_device = inside["member"]
    statuses = [status for status, _ in await answers(member, member_device)]
    assert statuses == [200, 200, 201, 200, 200, 204]

    for path in ("/api/admin/units", "/api/admin/tokens", "/api/admin/audit"):
        response = await coordinator.get(path)
        assert (response.status_code, response.json()["reason"]) == (403, "forbidden")
    created = await coordinator.post(
        "/api/admin/accounts", {"username": "x", "display_name": "x", "role": "grid_member"}
    )
    assert created.status_code == 403


async def test_only_people_at_a_desk_with_the_right_may_use_it(harness: Harness) -> None:
    await tree(harness)
    member = await sign_in(harness, Role.GRID_MEMBER, ["G1"])
    response = await member.get("/api/admin/devices")
    assert (response.status_code, response.json()["reason"]) == (403, "forbidden")
    tablet = await harness.token("G1", "管理员的平板", Role.ADMIN)
    response = await harness.client.get(
        "/api/admin/accounts", headers={"Authorization": f"Bearer {tablet}"}
    )
    assert (response.status_code, response.json()["reason"]) == (403, "session_required")
    response = await harness.client.get("/api/admin/accounts")
    assert response.status_code == 401
    admin = await sign_in(harness)
    no_csrf = await harness.client.post(
        "/api/admin/tokens",
        json={"name": "x", "units": ["S"]},
        headers={"Cookie": f"{SESSION_COOKIE}={admin.secret}"},
    )
    assert (no_csrf.status_code, no_csrf.json()["reason"]) == (403, "csrf_failed")
    assert (await admin.get("/api/admin/tokens")).json()["items"] == []


async def test_machine_tokens(harness: Harness) -> None:
    admin = await sign_in(harness)
    await tree(harness)
    created = await admin.post("/api/admin/tokens", {"name": "夜间报表", "units": ["C1"]})
    assert created.status_code == 201 and created.headers["cache-control"] == "no-store"
    token_id, token = created.json()["id"], created.json()["token"]
    assert await records_status(harness, token) == 200
    listed = (await admin.get("/api/admin/tokens")).json()["items"]
    assert [(t["id"], t["name"], t["units"]) for t in listed] == [(token_id, "夜间报表", ["C1"])]
    assert listed[0]["last_used_at"] is not None and token not in str(listed)

    assert (await admin.post(f"/api/admin/tokens/{token_id}/revoke")).status_code == 204
    assert await records_status(harness, token) == 401
    assert (await admin.post(f"/api/admin/tokens/{token_id}/revoke")).status_code == 204
    unknown = await admin.post(f"/api/admin/tokens/{uuid.uuid4()}/revoke")
    assert (unknown.status_code, unknown.json()["reason"]) == (404, "unknown_token")
    for body, reason in [
        ({"name": "x", "units": []}, "malformed_request"),
        ({"name": "x", "units": ["G404"]}, "unknown_unit"),
    ]:
        response = await admin.post("/api/admin/tokens", body)
        assert (response.status_code, response.json()["reason"]) == (400, reason)
    assert len((await admin.get("/api/admin/tokens")).json()["items"]) == 1


async def test_audit_log_filters_and_pages(harness: Harness) -> None:
    admin = await sign_in(harness)
    start = datetime.now(UTC)
    await tree(harness)
    with pytest.raises(ClientError):
        await harness.services.access.sessions.login("nobody", "wrong password", "10.0.0.7")
    for name in ("甲", "乙", "丙"):
        await admin.post("/api/admin/tokens", {"name": name, "units": ["S"]})

    everything, before = [], None
    while True:
        params = {"limit": 4, **({"before": before} if before else {})}
        page = (await admin.get("/api/admin/audit", **params)).json()
        everything += page["items"]
        if not (before := page["next"]):
            break
    ids = [entry["id"] for entry in everything]
    assert ids == sorted(ids, reverse=True) and len(ids) == len(set(ids)) == len(
        await audit_rows(harness)
    )
    assert set(everything[0]) == {c.name for c in audit_log.columns}

    async def actions(**params: Any) -> list[str]:
        response = await admin.get("/api/admin/audit", **params)
        assert response.status_code == 200, response.text
        return [entry["action"] for entry in response.json()["items"]]

    assert await actions(action="machine_token.created") == ["machine_token.created"] * 3
    assert await actions(action="org_unit.*") == ["org_unit.created"] * 6
    assert await actions(outcome="failed") == ["login"]
    assert await actions(account="nobody") == ["login"]
    mine = ["machine_token.created"] * 3 + ["login"]
    assert await actions(account=admin.account_id) == mine
    assert await actions(target="G3") == ["org_unit.created"]
    assert len(await actions(since=start.isoformat())) == 10
    assert await actions(until=start.isoformat(), action="login") == ["login"]  # the admin's
    assert await actions(since=(start + timedelta(days=1)).isoformat()) == []
    naive = await admin.get("/api/admin/audit", since="2026-01-01T00:00:00")
    assert (naive.status_code, naive.json()["reason"]) == (400, "time_without_offset")
    too_many = await admin.get("/api/admin/audit", limit=1000)
    assert too_many.status_code == 400


@pytest.mark.parametrize(
    "statement", ["UPDATE audit_log SET outcome = 'ok'", "DELETE FROM audit_log"]
)
async def test_the_audit_log_is_append_only(harness: Harness, statement: str) -> None:
    await sign_in(harness)
    before = await audit_rows(harness)
    async with harness.services.database.connect() as connection:
        with pytest.raises(sa.exc.DBAPIError, match="append-only"):
            await connection.execute(sa.text(statement))
        await connection.rollback()
    assert await audit_rows(harness) == before != []
