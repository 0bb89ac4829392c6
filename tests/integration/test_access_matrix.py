"""Every role × every credential × every endpoint, with records inside and outside its scope.

What each role may do and where is the design (docs/access.md) written down again here, on
purpose not read from server/access/roles.py: if the code drifts from the design, this test
says where. Every answer, allowed or not, is searched as raw bytes for strings that only
records outside the caller's scope hold (ids, grid codes, names, phone and ID numbers in full
and masked): nothing outside may leak, through lists, pages, counts, filters or errors.
Rows are a table: add one per endpoint.
"""

from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import msgspec
import sqlalchemy as sa
from pycrdt import Doc, Map

from schemas.wire import DocUpdate, SyncRequest, SyncResponse
from server.access.audit import SYSTEM
from server.access.org import Level, Unit
from server.access.roles import Role
from server.db.access_tables import (
    account_units,
    accounts,
    devices,
    enrollments,
    machine_tokens,
    org_units,
)
from server.db.tables import updates
from server.personal_data import mask
from tests.unit.records import edit, new_record

from .harness import (
    PASSWORD,
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

TREE = [
    Unit("S-LP", "临平街道", Level.STREET),
    Unit("C-A", "东湖社区", Level.COMMUNITY, "S-LP"),
    Unit("C-B", "西湖社区", Level.COMMUNITY, "S-LP"),
    Unit("G-A1", "东湖一网格", Level.GRID, "C-A"),
    Unit("G-A2", "东湖二网格", Level.GRID, "C-A"),
    Unit("G-B1", "西湖一网格", Level.GRID, "C-B"),
    Unit("G-B2", "西湖二网格", Level.GRID, "C-B"),
    # Another street: outside even the street officer's reach.
    Unit("S-X", "塘栖镇", Level.STREET),
    Unit("C-X", "塘栖社区", Level.COMMUNITY, "S-X"),
    Unit("G-X1", "塘栖一网格", Level.GRID, "C-X"),
]
SEEDED = ["G-A1", "G-A2", "G-B1", "G-X1"]  # grids whose tablets wrote records
KINDS = {"household": "households", "visit": "visits", "case": "cases"}
# Which personal values each kind's detail shows (masked unless revealed).
PERSONAL = {"households": ["phone", "id_number"], "visits": [], "cases": ["contact"]}

# Abilities: what the design says each role may do; and what each credential is.
SYNC, READ, REVEAL, REVIEW, DEVICES, ADMIN = "sync", "read", "reveal", "review", "devices", "admin"
DEVICE, SESSION, MACHINE = "device", "session", "machine"
DESIGN: dict[Role, set[str]] = {
    Role.GRID_MEMBER: {SYNC, READ},
    Role.GRID_LEADER: {SYNC, READ, REVEAL},
    Role.MEDIATOR: {SYNC, READ, REVEAL},
    Role.COORDINATOR: {SYNC, READ, REVEAL, REVIEW, DEVICES},
    Role.STREET_OFFICER: {READ, REVEAL, REVIEW},
    Role.ADMIN: {DEVICES, ADMIN},  # manages people and devices, reads no records
}
ATTACHED = {
    Role.GRID_MEMBER: ["G-A1"],
    Role.GRID_LEADER: ["G-A1"],
    Role.MEDIATOR: ["C-A"],
    Role.COORDINATOR: ["C-A"],
    Role.STREET_OFFICER: ["S-LP"],
    Role.ADMIN: [],
}
# The grids below those units, written out.
REACH = {
    Role.GRID_MEMBER: {"G-A1"},
    Role.GRID_LEADER: {"G-A1"},
    Role.MEDIATOR: {"G-A1", "G-A2"},
    Role.COORDINATOR: {"G-A1", "G-A2"},
    Role.STREET_OFFICER: {"G-A1", "G-A2", "G-B1", "G-B2"},
    Role.ADMIN: set(),
}
MACHINE_UNITS, MACHINE_REACH = ["C-A"], {"G-A1", "G-A2"}

_encode = msgspec.msgpack.Encoder().encode
_answer = msgspec.msgpack.Decoder(SyncResponse).decode
MSGPACK = "application/msgpack"


# --- the world: records in four grids, and who calls --------------------------------------


@dataclass
class World:
    harness: Harness
    seeded: dict[str, dict[str, str]] = field(default_factory=dict)  # grid → kind → doc id
    docs: dict[str, tuple[str, str]] = field(default_factory=dict)  # doc id → (kind, grid)
    # Grid → strings only its records hold: personal values, and what names the record.
    values: dict[str, list[str]] = field(default_factory=dict)
    names: dict[str, list[str]] = field(default_factory=dict)
    personal: dict[str, dict[str, str]] = field(default_factory=dict)  # grid → key → value
    accounts: dict[str, str] = field(default_factory=dict)  # grid → its tablet's account id
    made: int = 0  # for unique names of things rows create

    def unique(self, prefix: str) -> str:
        self.made += 1
        return f"{prefix}{self.made}"

    def ids(self, kind: str, grids: set[str]) -> set[str]:
        return {d for d, (k, g) in self.docs.items() if k == kind and g in grids}

    def author(self, grid: str) -> str:
        return f"网格员{grid}"


@dataclass
class Who:
    label: str
    can: set[str]
    grids: set[str]
    headers: dict[str, str]
    mint: Callable[[], Awaitable[dict[str, str]]]  # a new credential of the same kind
    someone: Person | None = None

    @property
    def home(self) -> str:
        return min(self.grids) if self.grids else "G-A1"

    @property
    def foreign(self) -> str:
        """The nearest seeded grid outside the caller's reach."""
        return next(g for g in ("G-A2", "G-B1", "G-X1") if g not in self.grids)


async def seed(harness: Harness, tmp_path: Path) -> World:
    await org(harness, *TREE)
    world = World(harness)
    for n, grid in enumerate(SEEDED, start=1):
        tablet, _ = await harness.tablet(tmp_path / f"{grid}.sqlite3", grid, world.author(grid))
        personal = {
            "phone": f"1380000{n:04d}",
            "id_number": f"33010219800101{n:03d}X",
            "contact": f"1390000{n:04d}",
        }
        plain = [f"户主{grid}", f"成员{grid}", f"走访情况{grid}", f"纠纷{grid}", f"当事人{grid}"]
        member = {"name": plain[1], "relation": "配偶", "id_number": personal["id_number"]}
        home = tablet.new_record(
            "household",
            grid,
            {"head_name": plain[0], "phone": personal["phone"], "members": [member]},
        )
        visit = tablet.new_record(
            "visit", grid, {"household": home.id, "purpose": "care_visit", "findings": plain[2]}
        )
        # An unknown type: every seeded case has an issue, for `has_issues`.
        case = tablet.new_record("case", grid, {"title": plain[3], "type": "bogus"})
        case.set(
            "parties", [{"name": plain[4], "role": "applicant", "contact": personal["contact"]}]
        )
        await tablet.sync()
        await tablet.close()
        world.seeded[grid] = {"households": home.id, "visits": visit.id, "cases": case.id}
        world.docs.update({r.id: (KINDS[r.kind], grid) for r in (home, visit, case)})
        world.personal[grid] = personal
        world.values[grid] = plain + list(personal.values()) + [mask(v) for v in personal.values()]
        world.names[grid] = [grid, world.author(grid), home.id, visit.id, case.id]
        world.accounts[grid] = await _account_named(harness, world.author(grid))
    await settled(harness)
    return world


async def _account_named(harness: Harness, prefix: str) -> str:
    async with harness.services.database.connect() as connection:
        found = await connection.scalar(
            sa.select(accounts.c.id).where(accounts.c.username.startswith(f"{prefix}-"))
        )
    assert found is not None
    return str(found)


async def callers(harness: Harness) -> list[Who]:
    found = []
    for role in Role:
        someone = await person(harness, role, ATTACHED[role], f"{role}-matrix")
        for kind, make in ((DEVICE, device_headers), (SESSION, session_headers)):

            async def mint(make: Any = make, someone: Person = someone) -> dict[str, str]:
                headers: dict[str, str] = await make(harness, someone)
                return headers

            can = DESIGN[role] | {kind}
            found.append(Who(f"{role}/{kind}", can, REACH[role], await mint(), mint, someone))

    async def machine() -> dict[str, str]:
        return await machine_headers(harness, MACHINE_UNITS)

    found.append(Who("machine", {READ, MACHINE}, MACHINE_REACH, await machine(), machine))

    async def nothing() -> dict[str, str]:
        return {}

    found.append(Who("nobody", set(), set(), {}, nothing))
    return found


# --- asking, and searching the answers for what lies outside -------------------------------


@dataclass
class Ask:
    method: str
    path: str
    params: dict[str, Any] = field(default_factory=dict)
    content: bytes | None = None
    json: Any = None
    headers: dict[str, str] = field(default_factory=dict)
    csrf: bool = True  # a browser session sends its CSRF token on writes
    doc: str = ""  # the document the ask is about, for the checks


@dataclass
class Probe:
    world: World
    who: Who
    headers: dict[str, str]
    leaks: list[str] = field(default_factory=list)

    async def send(self, ask: Ask, headers: dict[str, str] | None = None) -> httpx.Response:
        sent = dict(headers if headers is not None else self.headers) | ask.headers
        if not ask.csrf:
            sent.pop("X-CSRF-Token", None)
        client = self.world.harness.client
        response = await client.request(
            ask.method, ask.path, params=ask.params, content=ask.content, json=ask.json,
            headers=sent,
        )  # fmt: skip
        client.cookies.clear()  # a login's Set-Cookie must not ride along on the next asks
        self._search(ask, response)
        return response

    def _search(self, ask: Ask, response: httpx.Response) -> None:
        """What lies outside the caller's scope is never in an answer, unless the caller
        sent it itself (a foreign grid in a filter). Admins see the org tree and accounts,
        so for them only the records' personal values count."""
        sent = f"{ask.path} {ask.params} {ask.json}".encode() + (ask.content or b"")
        for grid in SEEDED:
            if grid in self.who.grids:
                continue
            strings = self.world.values[grid]
            if ADMIN not in self.who.can:
                strings = strings + self.world.names[grid]
            for marker in strings:
                raw = marker.encode()
                if raw in response.content and raw not in sent:
                    self.leaks.append(f"{marker!r} of {grid}")


def reason(response: httpx.Response) -> str | None:
    try:
        body = response.json()
    except ValueError:
        return None
    return body.get("reason") if isinstance(body, dict) else None


def sync_ask(push: list[tuple[str, bytes]], *, pull: bool = False) -> Ask:
    request = SyncRequest(push=[DocUpdate(d, u) for d, u in push], pull=pull)
    return Ask("POST", "/api/sync", content=_encode(request), headers={"Content-Type": MSGPACK})


def expect(response: httpx.Response, status: int, why: str | None = None) -> None:
    assert response.status_code == status, f"{response.status_code} {response.text[:300]}"
    if why is not None:
        assert reason(response) == why, response.text[:300]


# --- rows: what each endpoint must do for those allowed -------------------------------------


async def push_own(p: Probe) -> Ask:
    doc_id, _, update = new_record("visit", p.who.home, findings="矩阵")
    return _with_doc(sync_ask([(doc_id, update)]), doc_id)


async def pushed_own(p: Probe, response: httpx.Response, ask: Ask) -> None:
    expect(response, 200)
    [result] = _answer(response.content).results
    assert result.status == "accepted", result
    p.world.docs[ask.doc] = ("visits", p.who.home)


async def push_foreign(p: Probe) -> Ask:
    doc_id, _, update = new_record("visit", p.who.foreign, findings="矩阵")
    return _with_doc(sync_ask([(doc_id, update)]), doc_id)


async def pushed_foreign(p: Probe, response: httpx.Response, ask: Ask) -> None:
    expect(response, 200)
    [result] = _answer(response.content).results
    assert (result.status, result.reason) == ("refused", "out_of_scope"), result


async def pull(p: Probe) -> Ask:
    return sync_ask([], pull=True)


async def pulled(p: Probe, response: httpx.Response, ask: Ask) -> None:
    expect(response, 200)
    answer = _answer(response.content)
    docs = {u.doc for u in answer.updates}
    inside = {d for d, (_, grid) in p.world.docs.items() if grid in p.who.grids}
    seeded = {d for g in p.who.grids & set(SEEDED) for d in p.world.seeded[g].values()}
    assert seeded <= docs <= inside, (sorted(docs - inside), sorted(seeded - docs))
    assert not answer.more and answer.dropped_grids == []


async def own_state(p: Probe) -> Ask:
    return Ask("GET", f"/docs/{p.world.seeded[p.who.home]['households']}/state")


async def foreign_state(p: Probe) -> Ask:
    return Ask("GET", f"/docs/{p.world.seeded[p.who.foreign]['households']}/state")


async def own_update(p: Probe) -> Ask:
    return Ask("GET", f"/docs/{p.world.seeded[p.who.home]['households']}/update")


async def got_own_update(p: Probe, response: httpx.Response, ask: Ask) -> None:
    expect(response, 200)
    doc: Doc[Any] = Doc()
    doc.apply_update(response.content)
    assert doc.get("meta", type=Map)["grid"] == p.who.home


async def foreign_update(p: Probe) -> Ask:
    return Ask("GET", f"/docs/{p.world.seeded[p.who.foreign]['households']}/update")


async def post_own(p: Probe) -> Ask:
    doc_id, _, update = new_record("visit", p.who.home, findings="矩阵")
    return Ask("POST", f"/docs/{doc_id}/update", content=update, doc=doc_id)


async def post_own_without_csrf(p: Probe) -> Ask:
    ask = await post_own(p)
    ask.csrf = False
    return ask


async def posted_own(p: Probe, response: httpx.Response, ask: Ask) -> None:
    expect(response, 200)
    assert response.json()["status"] == "accepted"
    p.world.docs[ask.doc] = ("visits", p.who.home)


async def post_foreign(p: Probe) -> Ask:
    """An edit of a record in another grid, by someone who knows its id."""
    doc_id = p.world.seeded[p.who.foreign]["households"]
    return Ask("POST", f"/docs/{doc_id}/update", content=edit(Doc(), "fields", "room", "999"))


def answers(status: int, why: str | None = None) -> "Check":
    async def check(p: Probe, response: httpx.Response, ask: Ask) -> None:
        expect(response, status, why)

    return check


def listing(kind: str, **params: Any) -> "Make":
    async def make(p: Probe) -> Ask:
        resolved = {k: v(p) if callable(v) else v for k, v in params.items()}
        return Ask("GET", f"/api/{kind}", params=resolved)

    return make


def listed(kind: str, *, exactly: bool = True) -> "Check":
    async def check(p: Probe, response: httpx.Response, ask: Ask) -> None:
        expect(response, 200)
        items = response.json()["items"]
        ids = {item["doc_id"] for item in items}
        inside = p.world.ids(kind, p.who.grids)
        assert all(item["grid"] in p.who.grids for item in items)
        assert ids == inside if exactly else ids <= inside, (sorted(ids), sorted(inside))

    return check


async def listed_nothing(p: Probe, response: httpx.Response, ask: Ask) -> None:
    expect(response, 200)
    assert response.json() == {"items": [], "next": None}


def flagged(kind: str) -> "Check":
    async def check(p: Probe, response: httpx.Response, ask: Ask) -> None:
        await listed(kind, exactly=False)(p, response, ask)
        ids = {item["doc_id"] for item in response.json()["items"]}
        if kind == "cases":  # every seeded case has an issue
            assert {p.world.seeded[g]["cases"] for g in p.who.grids & set(SEEDED)} <= ids

    return check


def paged(kind: str) -> "Check":
    async def check(p: Probe, response: httpx.Response, ask: Ask) -> None:
        seen: list[str] = []
        while True:
            expect(response, 200)
            page = response.json()
            seen += [item["doc_id"] for item in page["items"]]
            if not page["next"]:
                break
            response = await p.send(Ask("GET", ask.path, {**ask.params, "after": page["next"]}))
        assert len(seen) == len(set(seen)) and set(seen) == p.world.ids(kind, p.who.grids)

    return check


def detail(kind: str, where: str, **params: Any) -> "Make":
    async def make(p: Probe) -> Ask:
        grid = p.who.home if where == "own" else p.who.foreign
        doc_id = p.world.seeded[grid][kind]
        return Ask("GET", f"/api/{kind}/{doc_id}", params=params, doc=doc_id)

    return make


def shown(*, revealed: bool) -> "Check":
    async def check(p: Probe, response: httpx.Response, ask: Ask) -> None:
        expect(response, 200)
        body = response.json()
        assert body["record"]["doc_id"] == ask.doc and body["record"]["grid"] == p.who.home
        kind = p.world.docs[ask.doc][0]
        for key in PERSONAL[kind]:
            value = p.world.personal[p.who.home][key]
            assert (value.encode() in response.content) is revealed, (key, revealed)
            assert (mask(value).encode() in response.content) is not revealed, (key, revealed)

    return check


def revealed_list(kind: str) -> "Check":
    async def check(p: Probe, response: httpx.Response, ask: Ask) -> None:
        await listed(kind)(p, response, ask)
        if kind == "households":
            assert p.world.personal[p.who.home]["phone"].encode() in response.content

    return check


Make = Callable[[Probe], Awaitable[Ask]]
Check = Callable[[Probe, httpx.Response, Ask], Awaitable[None]]
Refusal = Callable[[Who, frozenset[str]], tuple[int, str]]


def refusal(who: Who, need: frozenset[str]) -> tuple[int, str]:
    """How a caller without what a row needs is turned away."""
    if not who.can & {DEVICE, SESSION, MACHINE}:
        return 401, "missing_credentials"
    if DEVICE in need and DEVICE not in who.can:
        return 403, "device_required"
    if SESSION in need and SESSION not in who.can:
        return 403, "session_required"  # the console's API takes no bearer token
    return 403, "forbidden"


def session_only(who: Who, need: frozenset[str]) -> tuple[int, str]:
    """The browser's own session: anything else is told to log in."""
    return (401, "session_required") if who.can & {DEVICE, MACHINE} else refusal(who, need)


def csrf_first(who: Who, need: frozenset[str]) -> tuple[int, str]:
    """A browser's write without its CSRF token is refused before anything else."""
    return (403, "csrf_failed") if SESSION in who.can else refusal(who, need)


@dataclass(frozen=True)
class Row:
    name: str
    need: frozenset[str]
    make: Make
    allowed: Check
    refused: Refusal = refusal
    writes: bool = False  # refused: must change nothing; allowed: wait for the projection
    fresh: bool = False  # spends the caller's credential: run it with a new one


def row(name: str, need: set[str], make: Make, allowed: Check, **options: Any) -> Row:
    return Row(name, frozenset(need), make, allowed, **options)


def _with_doc(ask: Ask, doc_id: str) -> Ask:
    ask.doc = doc_id
    return ask


def read_rows(kind: str) -> list[Row]:
    author = lambda p: p.world.author(p.who.foreign)  # noqa: E731
    return [
        row(f"GET /api/{kind}", {READ}, listing(kind), listed(kind)),
        row(
            f"GET /api/{kind}?grid=<outside>",
            {READ},
            listing(kind, grid=lambda p: p.who.foreign),
            listed_nothing,
        ),
        row(
            f"GET /api/{kind}?member=<outside>",
            {READ},
            listing(kind, member=author),
            listed_nothing,
        ),
        row(f"GET /api/{kind}?has_issues", {READ}, listing(kind, has_issues="true"), flagged(kind)),
        row(f"GET /api/{kind} in pages of 1", {READ}, listing(kind, limit=1), paged(kind)),
        row(f"GET /api/{kind}/<own>", {READ}, detail(kind, "own"), shown(revealed=False)),
        row(
            f"GET /api/{kind}/<outside>",
            {READ},
            detail(kind, "outside"),
            answers(404, "unknown_record"),
        ),
        row(
            f"GET /api/{kind}?reveal",
            {READ, REVEAL},
            listing(kind, reveal="true"),
            revealed_list(kind),
        ),
        row(
            f"GET /api/{kind}/<own>?reveal",
            {READ, REVEAL},
            detail(kind, "own", reveal="true"),
            shown(revealed=True),
        ),
        row(
            f"GET /api/{kind}/<outside>?reveal",
            {READ, REVEAL},
            detail(kind, "outside", reveal="true"),
            answers(404, "unknown_record"),
        ),
    ]


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


def plain(method: str, path: str) -> Make:
    async def make(p: Probe) -> Ask:
        return Ask(method, path)

    return make


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


ROWS = [
    row("POST /api/sync push, own grid", {DEVICE, SYNC}, push_own, pushed_own, writes=True),
    row("POST /api/sync push, outside", {DEVICE, SYNC}, push_foreign, pushed_foreign, writes=True),
    row("POST /api/sync pull", {DEVICE, SYNC}, pull, pulled),
    row("GET /docs/<own>/state", {DEVICE, SYNC}, own_state, answers(200)),
    row(
        "GET /docs/<outside>/state",
        {DEVICE, SYNC},
        foreign_state,
        answers(404, "unknown_document"),
    ),
    row("GET /docs/<own>/update", {DEVICE, SYNC}, own_update, got_own_update),
    row(
        "GET /docs/<outside>/update",
        {DEVICE, SYNC},
        foreign_update,
        answers(404, "unknown_document"),
    ),
    row("POST /docs/<new, own grid>/update", {DEVICE, SYNC}, post_own, posted_own, writes=True),
    row(
        "POST /docs/<new>/update without CSRF token",
        {DEVICE, SYNC},
        post_own_without_csrf,
        posted_own,
        refused=csrf_first,
        writes=True,
    ),
    row(
        "POST /docs/<outside>/update",
        {DEVICE, SYNC},
        post_foreign,
        answers(403, "out_of_scope"),
        writes=True,
    ),
    *[r for kind in KINDS.values() for r in read_rows(kind)],
    row("GET /api/projection", {ADMIN}, plain("GET", "/api/projection"), answers(200)),
    row("GET /healthz", set(), plain("GET", "/healthz"), answers(200)),
    row("GET /readyz", set(), plain("GET", "/readyz"), answers(200)),
    *SESSION_ROWS,
    *ADMIN_ROWS,
]


async def snapshot(harness: Harness) -> str:
    """What a refused request must leave as it was: documents, the org tree, accounts,
    devices, tokens and enrollments (not the times of last use, which any request moves)."""
    kept = [
        sa.select(sa.func.count()).select_from(updates),
        sa.select(org_units),
        sa.select(account_units),
        sa.select(accounts.c.id, accounts.c.role, accounts.c.display_name, accounts.c.disabled_at),
        sa.select(devices.c.id, devices.c.name, devices.c.token_hash, devices.c.revoked_at),
        sa.select(machine_tokens.c.id, machine_tokens.c.token_hash, machine_tokens.c.revoked_at),
        sa.select(enrollments.c.code_hash, enrollments.c.used_at),
    ]
    async with harness.services.database.connect() as connection:
        return repr([sorted(map(tuple, await connection.execute(query))) for query in kept])


async def run(world: World, who: Who, line: Row) -> list[str]:
    harness = world.harness
    probe = Probe(world, who, await who.mint() if line.fresh else who.headers)
    ask = await line.make(probe)
    before = await snapshot(harness) if ask.method != "GET" else ""
    response = await probe.send(ask)
    permitted = line.need <= who.can
    problems = [f"leaks {leak}" for leak in probe.leaks]
    try:
        if permitted:
            await line.allowed(probe, response, ask)
        else:
            expected = line.refused(who, line.need)
            assert (response.status_code, reason(response)) == expected, response.text[:300]
            if before:
                assert await snapshot(harness) == before, "a refused request changed something"
    except AssertionError as error:
        first = (str(error).splitlines() or ["?"])[0][:300]
        problems.append(f"{'allowed' if permitted else 'refused'}: {first}")
    if line.writes and permitted:
        await settled(harness)
    return [f"{who.label} × {line.name}: {problem}" for problem in problems]


async def test_every_role_every_endpoint_inside_and_outside_its_scope(
    database_url: str, tmp_path: Path
) -> None:
    async with running_app(database_url) as harness:
        world = await seed(harness, tmp_path)
        everyone = await callers(harness)
        problems = []
        for who in everyone:
            for line in ROWS:
                problems += await run(world, who, line)
        assert not problems, f"{len(problems)} wrong:\n" + "\n".join(problems)
