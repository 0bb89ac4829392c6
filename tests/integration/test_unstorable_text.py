"""Text no database stores (a NUL character; a lone surrogate, which UTF-8 cannot encode)
in an address, a query, a JSON body, a form or a CSV file is refused with 400
`unstorable_text` on every database alike: PostgreSQL answered such a query with a 500."""

from collections.abc import AsyncIterator

import pytest

from server.access.roles import Role

from .harness import TWO_COMMUNITIES, Harness, org, person, running_app, session_headers

NUL = "a\x00b"
ACCOUNT = '{"username": "x", "display_name": "\\u0000", "role": "admin"}'


@pytest.fixture
async def harness(database_url: str) -> AsyncIterator[Harness]:
    async with running_app(database_url) as h:
        await org(h, *TWO_COMMUNITIES)
        yield h


async def desk(harness: Harness, role: Role) -> dict[str, str]:
    someone = await person(harness, role, ["S1" if role is Role.ADMIN else "C1"], role.value)
    return await session_headers(harness, someone)


def reason_of(response: object) -> tuple[int, str]:
    return response.status_code, response.json()["reason"]  # type: ignore[attr-defined]


@pytest.mark.parametrize(
    ("path", "params"),
    [
        ("/api/households/export", {"member": NUL}),
        ("/api/visits", {"grid": NUL}),
        ("/api/visits", {NUL: "1"}),
        ("/api/households/a%00b", {}),
        ("/api/changes", {"since": NUL}),
    ],
)
async def test_addresses_and_queries(harness: Harness, path: str, params: dict[str, str]) -> None:
    coordinator = await desk(harness, Role.COORDINATOR)
    response = await harness.client.get(path, params=params, headers=coordinator)
    assert reason_of(response) == (400, "unstorable_text")


@pytest.mark.parametrize(
    ("path", "body", "reason"),
    [
        ("/api/admin/tokens", '{"name": "报表", "units": ["a\\u0000b"]}', "unstorable_text"),
        ("/api/admin/accounts", ACCOUNT, "unstorable_text"),
        # A lone surrogate (only a JSON escape carries one): msgspec refuses it itself.
        ("/api/admin/units", '{"code": "G9", "name": "\\ud800网格"}', "malformed_request"),
    ],
)
async def test_json_bodies(harness: Harness, path: str, body: str, reason: str) -> None:
    admin = await desk(harness, Role.ADMIN)
    headers = {**admin, "Content-Type": "application/json"}
    response = await harness.client.post(path, content=body.encode(), headers=headers)
    assert reason_of(response) == (400, reason)


async def test_a_units_file(harness: Harness) -> None:
    admin = await desk(harness, Role.ADMIN)
    headers = {**admin, "Content-Type": "text/csv"}
    csv = "code,name,level,parent\nG9,九\x00网格,grid,C1\n".encode()
    response = await harness.client.post("/api/admin/units/import", content=csv, headers=headers)
    assert reason_of(response) == (400, "unstorable_text")


@pytest.mark.parametrize("as_form", [False, True])
async def test_logins(harness: Harness, as_form: bool) -> None:
    body = {"username": NUL, "password": "lamp-post-orchard-42"}
    sent = {"data": body} if as_form else {"json": body}
    response = await harness.client.post("/api/session", **sent)  # type: ignore[arg-type]
    assert reason_of(response) == (400, "unstorable_text")


async def test_a_review_comment_litestar_decodes(harness: Harness) -> None:
    coordinator = await desk(harness, Role.COORDINATOR)
    body = {"action": "send_back", "comment": NUL}
    response = await harness.client.post(
        "/api/visits/00000000-0000-4000-8000-000000000000/review", json=body, headers=coordinator
    )
    assert reason_of(response) == (400, "unstorable_text")


async def test_text_outside_the_basic_plane_is_storable(harness: Harness) -> None:
    admin = await desk(harness, Role.ADMIN)
    body = {"code": "G9", "name": "九网格 🏠", "level": "grid", "parent": "C1"}
    response = await harness.client.post("/api/admin/units", json=body, headers=admin)
    assert response.status_code == 201, response.text
