"""Numbers and times a client sends that no database column holds are refused with a 400
and a reason before any query sees them (they were 500s: SQLite's OverflowError,
PostgreSQL's out-of-range errors, Python's `date` overflowing in UTC). Every integer the
OpenAPI document declares has its range there, and the range is what the server enforces."""

import base64
import json
from collections.abc import AsyncIterator, Iterator
from typing import Any

import msgspec
import pytest

from server.access.roles import Role
from server.web.params import MAX_ID

from .harness import TWO_COMMUNITIES, Harness, org, person, running_app, session_headers

BIGINT = 2**63
# What integers in a request may be: what a BIGINT column holds.
LOWEST, HIGHEST = -BIGINT, BIGINT - 1


@pytest.fixture
async def harness(database_url: str) -> AsyncIterator[Harness]:
    async with running_app(database_url) as h:
        await org(h, *TWO_COMMUNITIES)
        yield h


async def desk(harness: Harness, role: Role, username: str) -> dict[str, str]:
    units = ["S1"] if role is Role.ADMIN else ["C1"]
    return await session_headers(harness, await person(harness, role, units, username))


def token(raw: str | list[Any]) -> str:
    """A page token or cursor, encoded as this server encodes its own."""
    text = raw if isinstance(raw, str) else json.dumps(raw)
    return base64.urlsafe_b64encode(text.encode()).decode().rstrip("=")


def reason_of(response: Any) -> tuple[int, str]:
    return response.status_code, response.json()["reason"]


OUT_OF_RANGE = [-5783694965510887178240, -1, 0, MAX_ID + 1, BIGINT, 10**30]


@pytest.mark.parametrize("before", OUT_OF_RANGE)
@pytest.mark.parametrize("path", ["/api/jobs/runs", "/api/admin/audit"])
async def test_before_beyond_an_id_is_refused(harness: Harness, path: str, before: int) -> None:
    admin = await desk(harness, Role.ADMIN, "admin")
    response = await harness.client.get(path, params={"before": before}, headers=admin)
    assert reason_of(response) == (400, "invalid_parameter")
    assert "`before`" in response.json()["detail"]
    largest = await harness.client.get(path, params={"before": MAX_ID}, headers=admin)
    assert largest.status_code == 200, largest.text


@pytest.mark.parametrize(
    ("path", "largest"),
    [
        ("/api/changes", 1000),
        ("/api/visits", 200),
        ("/api/overdue", 500),
        ("/api/admin/audit", 200),
        ("/api/jobs/runs", 200),
        ("/api/admin/webhooks/no-such-hook/deliveries", 500),
    ],
)
async def test_limits_beyond_their_range_are_refused(
    harness: Harness, path: str, largest: int
) -> None:
    admin = await desk(harness, Role.ADMIN, "admin")
    coordinator = await desk(harness, Role.COORDINATOR, "coordinator")
    headers = admin if path.startswith(("/api/admin", "/api/jobs")) else coordinator
    for limit in [0, -1, largest + 1, BIGINT, 10**30]:
        response = await harness.client.get(path, params={"limit": limit}, headers=headers)
        assert reason_of(response) == (400, "invalid_parameter"), limit
    # The largest is served (or, for an absent webhook, answered 404 after the check).
    response = await harness.client.get(path, params={"limit": largest}, headers=headers)
    assert response.status_code in (200, 404), response.text


@pytest.mark.parametrize("seq", ["99999999999999999999", str(BIGINT), str(MAX_ID + 1)])
async def test_a_feed_cursor_past_any_sequence_is_malformed(harness: Harness, seq: str) -> None:
    coordinator = await desk(harness, Role.COORDINATOR, "coordinator")
    since = token(f"c1.{seq}")
    response = await harness.client.get(
        "/api/changes", params={"since": since}, headers=coordinator
    )
    assert reason_of(response) == (400, "malformed_cursor")
    largest = token(f"c1.{MAX_ID}")
    response = await harness.client.get(
        "/api/changes", params={"since": largest}, headers=coordinator
    )
    assert response.status_code == 200, response.text


@pytest.mark.parametrize("item", [2**31, BIGINT, -1])
async def test_an_overdue_page_token_past_an_item_number_is_malformed(
    harness: Harness, item: int
) -> None:
    coordinator = await desk(harness, Role.COORDINATOR, "coordinator")
    after = token(["2026-11-20", "record", "rule", item])
    response = await harness.client.get(
        "/api/overdue", params={"after": after}, headers=coordinator
    )
    assert reason_of(response) == (400, "malformed_page_token")


@pytest.mark.parametrize(
    ("path", "name", "value"),
    [
        ("/api/visits", "since", "0001-01-01T00:00:00+05:00"),
        ("/api/households", "until", "9999-12-31T23:59:59-05:00"),
        ("/api/cases/export", "since", "0001-01-01T03:00:00+08:00"),
        ("/api/admin/audit", "until", "9999-12-31T23:00:00-01:00"),
    ],
)
async def test_times_beyond_the_years_in_utc_are_refused(
    harness: Harness, path: str, name: str, value: str
) -> None:
    headers = await desk(harness, Role.ADMIN if "admin" in path else Role.COORDINATOR, "someone")
    response = await harness.client.get(path, params={name: value}, headers=headers)
    assert reason_of(response) == (400, "time_out_of_range")


async def test_a_records_page_token_at_the_end_of_time_is_malformed(harness: Harness) -> None:
    coordinator = await desk(harness, Role.COORDINATOR, "coordinator")
    after = token(f"0001-01-01T00:00:00+05:00|{'0' * 36}")
    response = await harness.client.get("/api/visits", params={"after": after}, headers=coordinator)
    assert reason_of(response) == (400, "malformed_page_token")


@pytest.mark.parametrize("max_bytes", [0, -1, BIGINT, 10**30])
async def test_sync_max_bytes_beyond_its_range_is_malformed(
    harness: Harness, max_bytes: int
) -> None:
    device = {"Authorization": f"Bearer {await harness.token('G1')}"}
    body = json.dumps({"push": [], "max_bytes": max_bytes})
    headers = {**device, "Content-Type": "application/json"}
    response = await harness.client.post("/api/sync", content=body, headers=headers)
    assert reason_of(response) == (400, "malformed_request")
    largest = msgspec.msgpack.encode({"max_bytes": MAX_ID})
    headers = {**device, "Content-Type": "application/msgpack"}
    response = await harness.client.post("/api/sync", content=largest, headers=headers)
    assert response.status_code == 200, response.text


@pytest.mark.parametrize(
    "query",
    [
        "days=%C2%B2",  # `²` is a digit to str.isdigit, not to int
        "days=" + "9" * 5000,  # past int()'s 4,300 digits
        "until=0001-01-01",
        "since=9999-12-30&until=9999-12-31",
    ],
)
async def test_console_dashboard_refuses_days_it_cannot_count(harness: Harness, query: str) -> None:
    coordinator = await desk(harness, Role.COORDINATOR, "coordinator")
    response = await harness.client.get(f"/console/dashboard?{query}", headers=coordinator)
    assert response.status_code == 400, response.text


@pytest.mark.parametrize("query", ["since=0001-01-01", "until=9999-12-31"])
async def test_console_lists_refuse_days_at_the_ends_of_time(harness: Harness, query: str) -> None:
    coordinator = await desk(harness, Role.COORDINATOR, "coordinator")
    for path in ["/console/visits", "/console/households/export"]:
        response = await harness.client.get(f"{path}?{query}", headers=coordinator)
        assert response.status_code == 400, (path, response.text)


def integers(schema: Any, where: str) -> Iterator[tuple[str, dict[str, Any]]]:
    """Every integer schema inside `schema`, with where it is."""
    if isinstance(schema, dict):
        if schema.get("type") == "integer":
            yield where, schema
        for key, value in schema.items():
            yield from integers(value, f"{where}.{key}")
    elif isinstance(schema, list):
        for index, value in enumerate(schema):
            yield from integers(value, f"{where}[{index}]")


async def test_every_integer_a_client_sends_has_its_range_in_the_document(
    harness: Harness,
) -> None:
    document = (await harness.client.get("/schema/openapi.json")).json()
    found = []
    for path, operations in document["paths"].items():
        for method, operation in operations.items():
            sent = [operation.get("parameters", []), operation.get("requestBody", {})]
            found += [(f"{method.upper()} {path}{where}", s) for where, s in integers(sent, "")]
    assert found  # limits, `before`, `max_bytes`
    unbounded = [
        where
        for where, schema in found
        if not LOWEST <= schema.get("minimum", LOWEST - 1) <= HIGHEST
        or not LOWEST <= schema.get("maximum", HIGHEST + 1) <= HIGHEST
    ]
    assert not unbounded


async def test_the_server_enforces_the_ranges_the_document_declares(harness: Harness) -> None:
    """Each integer query parameter, one past either end: 400 `invalid_parameter`."""
    admin = await desk(harness, Role.ADMIN, "admin")
    coordinator = await desk(harness, Role.COORDINATOR, "coordinator")
    document = (await harness.client.get("/schema/openapi.json")).json()
    checked = 0
    for path, operations in document["paths"].items():
        operation = operations.get("get", {})
        for parameter in operation.get("parameters", []):
            bounds = [s for _, s in integers(parameter.get("schema"), "")]
            if parameter["in"] != "query" or not bounds:
                continue
            url = path.replace("{kind}", "visits").replace("{hook_id}", "none")
            headers = admin if url.startswith(("/api/admin", "/api/jobs")) else coordinator
            for value in [bounds[0]["minimum"] - 1, bounds[0]["maximum"] + 1]:
                params = {parameter["name"]: int(value)}
                response = await harness.client.get(url, params=params, headers=headers)
                assert reason_of(response) == (400, "invalid_parameter"), (url, params)
                checked += 1
    assert checked >= 12
