"""Rows for the tablet's sync endpoints, and for reading each kind of record: its list, its
filters and pages, its detail, masked and revealed."""

from typing import Any

import httpx
import msgspec
from pycrdt import Doc, Map

from schemas.wire import DocUpdate, SyncRequest, SyncResponse
from server.records.personal_data import mask
from tests.unit.records import edit, new_record

from .probe import Ask, Check, Make, Probe, Row, answers, csrf_first, expect, row
from .world import DEVICE, KINDS, PERSONAL, READ, REVEAL, SEEDED, SYNC

_encode = msgspec.msgpack.Encoder().encode
_answer = msgspec.msgpack.Decoder(SyncResponse).decode
MSGPACK = "application/msgpack"


# --- syncing: what a tablet pushes and pulls, and a document's state and update -----------


def sync_ask(push: list[tuple[str, bytes]], *, pull: bool = False) -> Ask:
    request = SyncRequest(push=[DocUpdate(d, u) for d, u in push], pull=pull)
    return Ask("POST", "/api/sync", content=_encode(request), headers={"Content-Type": MSGPACK})


def _with_doc(ask: Ask, doc_id: str) -> Ask:
    ask.doc = doc_id
    return ask


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


SYNC_ROWS = [
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
        # Out of scope looks absent: what the same edit gets for an id nobody has.
        answers(422, "missing_meta"),
        writes=True,
    ),
]


# --- reading: each kind's list, its filters and pages, and a record's detail --------------


def listing(kind: str, **params: Any) -> Make:
    async def make(p: Probe) -> Ask:
        resolved = {k: v(p) if callable(v) else v for k, v in params.items()}
        return Ask("GET", f"/api/{kind}", params=resolved)

    return make


def listed(kind: str, *, exactly: bool = True) -> Check:
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


def flagged(kind: str) -> Check:
    async def check(p: Probe, response: httpx.Response, ask: Ask) -> None:
        await listed(kind, exactly=False)(p, response, ask)
        ids = {item["doc_id"] for item in response.json()["items"]}
        if kind == "cases":  # every seeded case has an issue
            assert {p.world.seeded[g]["cases"] for g in p.who.grids & set(SEEDED)} <= ids

    return check


def paged(kind: str) -> Check:
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


def detail(kind: str, where: str, **params: Any) -> Make:
    async def make(p: Probe) -> Ask:
        grid = p.who.home if where == "own" else p.who.foreign
        doc_id = p.world.seeded[grid][kind]
        return Ask("GET", f"/api/{kind}/{doc_id}", params=params, doc=doc_id)

    return make


def shown(*, revealed: bool) -> Check:
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


def revealed_list(kind: str) -> Check:
    async def check(p: Probe, response: httpx.Response, ask: Ask) -> None:
        await listed(kind)(p, response, ask)
        if kind == "households":
            assert p.world.personal[p.who.home]["phone"].encode() in response.content

    return check


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


READ_ROWS = [r for kind in KINDS.values() for r in read_rows(kind)]
