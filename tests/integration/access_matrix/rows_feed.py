"""Rows for the change feed (READ, as the read API: machine tokens and people with the
right, always masked) and for the admin's webhooks (an admin's session only)."""

import httpx

from server.records.personal_data import mask

from .probe import Ask, Probe, Row, answers, expect, plain, row
from .world import ADMIN, READ, SEEDED, SESSION


async def whole_feed(p: Probe) -> Ask:
    return Ask("GET", "/api/changes", params={"limit": 2})


async def fed_own_masked(p: Probe, response: httpx.Response, ask: Ask) -> None:
    """Every page, followed to the end: the records of the caller's grids, no other, with
    personal data masked whatever the caller's role."""
    seen: set[str] = set()
    bodies = b""
    while True:
        expect(response, 200)
        bodies += response.content
        page = response.json()
        assert all(item["grid"] in p.who.grids for item in page["items"])
        seen |= {item["doc_id"] for item in page["items"]}
        for grid in p.who.grids & set(SEEDED):
            for value in p.world.personal[grid].values():
                assert value.encode() not in response.content, "personal data in full"
        if not page["more"]:
            break
        response = await p.send(Ask("GET", ask.path, {**ask.params, "since": page["next"]}))
    inside = {d for d, (_, grid) in p.world.docs.items() if grid in p.who.grids}
    seeded = {d for g in p.who.grids & set(SEEDED) for d in p.world.seeded[g].values()}
    assert seeded <= seen <= inside, (sorted(seeded - seen), sorted(seen - inside))
    for grid in p.who.grids & set(SEEDED):
        assert mask(p.world.personal[grid]["phone"]).encode() in bodies, grid


async def bad_cursor(p: Probe) -> Ask:
    return Ask("GET", "/api/changes", params={"since": "nonsense"})


async def new_webhook(p: Probe) -> Ask:
    return Ask("POST", "/api/admin/webhooks", json={"url": "http://127.0.0.1:9/hook"})


RUN = {SESSION, ADMIN}
FEED_ROWS: list[Row] = [
    row("GET /api/changes, every page", {READ}, whole_feed, fed_own_masked),
    row("GET /api/changes?since=<bad>", {READ}, bad_cursor, answers(400, "malformed_cursor")),
    row("GET /api/admin/webhooks", RUN, plain("GET", "/api/admin/webhooks"), answers(200)),
    row("POST /api/admin/webhooks", RUN, new_webhook, answers(201)),
    row(
        "DELETE /api/admin/webhooks/<none>",
        RUN,
        plain("DELETE", "/api/admin/webhooks/none"),
        answers(404, "unknown_webhook"),
    ),
    row(
        "GET /api/admin/webhooks/<none>/deliveries",
        RUN,
        plain("GET", "/api/admin/webhooks/none/deliveries"),
        answers(404, "unknown_webhook"),
    ),
    row(
        "POST /api/admin/webhooks/<none>/replay",
        RUN,
        plain("POST", "/api/admin/webhooks/none/replay"),
        answers(404, "unknown_webhook"),
    ),
]
