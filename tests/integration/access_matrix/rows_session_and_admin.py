"""Rows for the browser's session and the tablet's own token, and for the console's admin
API: what admins may run everywhere, and what a coordinator may manage inside its grids."""

import httpx

from server.access.audit import SYSTEM
from server.access.roles import Role

from ..harness import PASSWORD
from .probe import Ask, Check, Make, Probe, answers, expect, plain, row, session_only
from .world import ADMIN, DEVICE, DEVICES, SEEDED, SESSION, TREE

# --- the browser's session, and the tablet's own token --------------------------------------


async def whoami(p: Probe) -> Ask:
    return Ask("GET", "/api/session")


async def is_me(p: Probe, response: httpx.Response, ask: Ask) -> None:
    expect(response, 200)
    body = response.json()
    assert p.who.someone is not None and body["account"]["role"] == p.who.someone.role
    assert set(body["grids"]) == p.who.grids


async def log_out(p: Probe) -> Ask:
    return Ask("DELETE", "/api/session")


async def log_out_by_form(p: Probe) -> Ask:
    return Ask("POST", "/api/session/logout")


async def logged_out(p: Probe, response: httpx.Response, ask: Ask) -> None:
    expect(response, 204)
    expect(await p.send(Ask("GET", "/api/session")), 401, "session_expired")


async def this_device(p: Probe) -> Ask:
    return Ask("GET", "/api/device")


async def is_this_device(p: Probe, response: httpx.Response, ask: Ask) -> None:
    expect(response, 200)
    assert set(response.json()["grids"]) == p.who.grids


async def rotate_own(p: Probe) -> Ask:
    return Ask("POST", "/api/device/rotate")


async def rotated_own(p: Probe, response: httpx.Response, ask: Ask) -> None:
    expect(response, 200)
    expect(await p.send(Ask("GET", "/api/households")), 401, "invalid_token")
    new = {"Authorization": f"Bearer {response.json()['token']}"}
    assert (await p.send(Ask("GET", "/api/households"), new)).status_code != 401


async def log_in(p: Probe) -> Ask:
    username = p.who.someone.username if p.who.someone else "nobody-at-all"
    return Ask("POST", "/api/session", json={"username": username, "password": PASSWORD})


async def logged_in(p: Probe, response: httpx.Response, ask: Ask) -> None:
    """Anyone may try; an account with a password gets its own grids, nothing more."""
    if p.who.someone is None:
        expect(response, 401, "login_failed")
        return
    expect(response, 200)
    assert set(response.json()["grids"]) == p.who.grids


async def enroll_own(p: Probe) -> Ask:
    code = "NOT-A-CODE"
    if p.who.someone is not None:
        devices = p.world.harness.services.access.devices
        code = (await devices.start_enrollment(p.who.someone.account_id, "新平板", SYSTEM)).code
    return Ask("POST", "/api/enroll", json={"code": code})


async def enrolled_own(p: Probe, response: httpx.Response, ask: Ask) -> None:
    """The code is the credential: the tablet gets its account's grids, nothing more."""
    if p.who.someone is None:
        expect(response, 400, "invalid_enrollment_code")
        return
    expect(response, 201)
    assert set(response.json()["grids"]) == p.who.grids


SESSION_ROWS = [
    row("GET /api/session", {SESSION}, whoami, is_me, refused=session_only),
    row("DELETE /api/session", {SESSION}, log_out, logged_out, refused=session_only, fresh=True),
    row(
        "POST /api/session/logout",
        {SESSION},
        log_out_by_form,
        logged_out,
        refused=session_only,
        fresh=True,
    ),
    row("GET /api/device", {DEVICE}, this_device, is_this_device),
    row("POST /api/device/rotate", {DEVICE}, rotate_own, rotated_own, fresh=True),
    row("POST /api/session (log in)", set(), log_in, logged_in),
    row("POST /api/enroll", set(), enroll_own, enrolled_own),
]


# --- the console's admin API -----------------------------------------------------------------


def everywhere_or_404(status: int, why: str) -> Check:
    """Admins reach every account and device; a coordinator only the field workers inside
    its grids: anything else is answered as if it did not exist."""

    async def check(p: Probe, response: httpx.Response, ask: Ask) -> None:
        inside = ADMIN in p.who.can or ask.doc == "inside"
        if inside:
            assert 200 <= response.status_code < 300, f"{response.status_code} {response.text}"
        else:
            expect(response, 404, why)

    return check


def account_of(where: str) -> Make:
    async def make(p: Probe) -> Ask:
        grid = p.who.home if where == "inside" else p.who.foreign
        return Ask("GET", f"/api/admin/accounts/{p.world.accounts[grid]}", doc=where)

    return make


def enrollment_for(where: str) -> Make:
    async def make(p: Probe) -> Ask:
        grid = p.who.home if where == "inside" else p.who.foreign
        body = {"account_id": p.world.accounts[grid], "device_name": "新平板"}
        return Ask("POST", "/api/admin/enrollments", json=body, doc=where)

    return make


def device_of(where: str, action: str) -> Make:
    """A new device of a seeded grid's account, to rename, revoke or rotate."""

    async def make(p: Probe) -> Ask:
        grid = p.who.home if where == "inside" else p.who.foreign
        devices = p.world.harness.services.access.devices
        device = await devices.add(p.world.accounts[grid], "矩阵平板", SYSTEM)
        path = f"/api/admin/devices/{device.id}"
        if action == "rename":
            return Ask("PATCH", path, json={"name": p.world.unique("改名")}, doc=where)
        return Ask("POST", f"{path}/{action}", doc=where)

    return make


async def new_unit(p: Probe) -> Ask:
    body = {"code": p.world.unique("G-NEW-"), "name": "新网格", "level": "grid", "parent": "C-B"}
    return Ask("POST", "/api/admin/units", json=body)


async def rename_unit(p: Probe) -> Ask:
    return Ask("PATCH", "/api/admin/units/G-B2", json={"name": p.world.unique("西湖二网格")})


async def import_units(p: Probe) -> Ask:
    csv = f"code,name,level,parent\n{p.world.unique('G-CSV-')},导入网格,网格,C-B\n"
    return Ask("POST", "/api/admin/units/import", content=csv.encode(), headers=CSV)


async def new_account(p: Probe) -> Ask:
    body = {"username": p.world.unique("new-"), "display_name": "新人", "role": "grid_member"}
    return Ask("POST", "/api/admin/accounts", json={**body, "units": ["G-B2"]})


async def change_account(p: Probe) -> Ask:
    account = p.world.accounts["G-B1"]
    body = {"display_name": p.world.unique("改名")}
    return Ask("PATCH", f"/api/admin/accounts/{account}", json=body)


async def new_token(p: Probe) -> Ask:
    return Ask("POST", "/api/admin/tokens", json={"name": "报表", "units": ["C-B"]})


async def revoke_token(p: Probe) -> Ask:
    tokens = p.world.harness.services.access.machine_tokens
    made = await tokens.create("报表", ["C-B"], SYSTEM)
    return Ask("POST", f"/api/admin/tokens/{made.id}/revoke")


def grids_below(units: list[str]) -> set[str]:
    found, frontier = set(), set(units)
    while frontier:
        found |= frontier
        frontier = {u.code for u in TREE if u.parent in frontier}
    return {code for code in found if code.startswith("G-")}


FIELD_ROLES = {Role.GRID_MEMBER, Role.GRID_LEADER, Role.MEDIATOR}


async def managed_accounts(p: Probe, response: httpx.Response, ask: Ask) -> None:
    """A coordinator sees the field workers whose grids all lie in its own, nobody else."""
    expect(response, 200)
    items = response.json()["items"]
    ids = {item["id"] for item in items}
    assert {p.world.accounts[g] for g in p.who.grids & set(SEEDED)} <= ids
    if ADMIN in p.who.can:
        assert set(p.world.accounts.values()) <= ids
        return
    for item in items:
        assert item["role"] in FIELD_ROLES, item
        assert grids_below(item["units"]) <= p.who.grids, item


async def managed_devices(p: Probe, response: httpx.Response, ask: Ask) -> None:
    expect(response, 200)
    accounts = await p.send(Ask("GET", "/api/admin/accounts"))
    managed = {item["id"] for item in accounts.json()["items"]}
    owners = {item["account_id"] for item in response.json()["items"]}
    assert owners <= managed and {p.world.accounts[g] for g in p.who.grids & set(SEEDED)} <= owners


CSV = {"Content-Type": "text/csv"}
MANAGE = {SESSION, DEVICES}
RUN = {SESSION, ADMIN}
ADMIN_ROWS = [
    row("GET /api/admin/units", RUN, plain("GET", "/api/admin/units"), answers(200)),
    row("POST /api/admin/units", RUN, new_unit, answers(201)),
    row("PATCH /api/admin/units/<code>", RUN, rename_unit, answers(200)),
    row("POST /api/admin/units/import", RUN, import_units, answers(200)),
    row("GET /api/admin/accounts", MANAGE, plain("GET", "/api/admin/accounts"), managed_accounts),
    row(
        "GET /api/admin/accounts/<inside>",
        MANAGE,
        account_of("inside"),
        everywhere_or_404(200, "unknown_account"),
    ),
    row(
        "GET /api/admin/accounts/<outside>",
        MANAGE,
        account_of("outside"),
        everywhere_or_404(200, "unknown_account"),
    ),
    row("POST /api/admin/accounts", RUN, new_account, answers(201)),
    row("PATCH /api/admin/accounts/<id>", RUN, change_account, answers(200)),
    row("GET /api/admin/devices", MANAGE, plain("GET", "/api/admin/devices"), managed_devices),
    *[
        row(
            f"{name} <{where}>",
            MANAGE,
            make(where),
            everywhere_or_404(200, why),
        )
        for where in ("inside", "outside")
        for name, make, why in (
            ("POST /api/admin/enrollments", enrollment_for, "unknown_account"),
            (
                "PATCH /api/admin/devices/<id>",
                lambda w: device_of(w, "rename"),
                "unknown_device",
            ),
            (
                "POST /api/admin/devices/<id>/revoke",
                lambda w: device_of(w, "revoke"),
                "unknown_device",
            ),
            (
                "POST /api/admin/devices/<id>/rotate",
                lambda w: device_of(w, "rotate"),
                "unknown_device",
            ),
        )
    ],
    row("GET /api/admin/tokens", RUN, plain("GET", "/api/admin/tokens"), answers(200)),
    row("POST /api/admin/tokens", RUN, new_token, answers(201)),
    row("POST /api/admin/tokens/<id>/revoke", RUN, revoke_token, answers(204)),
    row("GET /api/admin/audit", RUN, plain("GET", "/api/admin/audit"), answers(200)),
]
