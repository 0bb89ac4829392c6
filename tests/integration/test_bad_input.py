"""Bad input gets a 4xx with a machine-readable reason, never a 500, and stores nothing."""

import uuid
from collections.abc import AsyncIterator

import msgspec
import pytest
from pycrdt import Doc, Map

from tests.unit.records import edit, new_record

from .harness import Harness, running_app

MSGPACK = {"Content-Type": "application/msgpack"}


@pytest.fixture
async def harness(database_url: str) -> AsyncIterator[Harness]:
    async with running_app(
        database_url, max_body_bytes=256 * 1024, max_update_bytes=64 * 1024
    ) as h:
        yield h


async def auth(harness: Harness, grid: str = "G1") -> dict[str, str]:
    return {"Authorization": f"Bearer {await harness.token(grid)}"}


def reason_of(response: object) -> str:
    reason: str = response.json()["reason"]  # type: ignore[attr-defined]
    return reason


def no_meta_update() -> bytes:
    doc = Doc()
    doc.get("fields", type=Map)["purpose"] = "日常走访"
    update: bytes = doc.get_update()
    return update


def missing_dependency_update() -> bytes:
    _, doc, _ = new_record()
    edit(doc, "fields", "a", 1)
    return edit(doc, "fields", "a", 2)  # builds on the unsent first edit and creation


_, _, VALID = new_record()


@pytest.mark.parametrize(
    ("body", "status", "reason"),
    [
        (b"", 400, "empty_update"),
        (b"\x93\x01garbage bytes \xff\xfe", 400, "malformed_update"),
        (VALID[: len(VALID) // 2], 400, "malformed_update"),
        (b"\x00\x00", 400, "empty_update"),
        (missing_dependency_update(), 409, "missing_dependencies"),
        (no_meta_update(), 422, "missing_meta"),
        (new_record(grid="G2")[2], 403, "out_of_scope"),
        (new_record(findings="长" * 30000)[2], 413, "update_too_large"),
        (b"\x00" * (300 * 1024), 413, "body_too_large"),
    ],
    ids=[
        "empty",
        "garbage",
        "truncated",
        "no-op",
        "missing-deps",
        "no-meta",
        "other-grid",
        "update-too-large",
        "body-too-large",
    ],
)
async def test_raw_update_refusals(harness: Harness, body: bytes, status: int, reason: str) -> None:
    response = await harness.client.post(
        f"/docs/{uuid.uuid4()}/update", content=body, headers=await auth(harness)
    )
    assert (response.status_code, reason_of(response)) == (status, reason)
    assert response.headers["content-type"].startswith("application/problem+json")
    assert await harness.stored_update_count() == 0


@pytest.mark.parametrize(
    ("body", "status", "reason"),
    [
        (b"", 400, "empty_body"),
        (b"\xc1\xc1 not msgpack", 400, "malformed_request"),
        (msgspec.msgpack.encode({"push": [{"doc": "x"}]}), 400, "malformed_request"),
        (msgspec.msgpack.encode({"surprise": 1}), 400, "malformed_request"),
        (msgspec.msgpack.encode({"cursor": "not-a-cursor!"}), 400, "malformed_cursor"),
        (b"\x80" + b"\x00" * (300 * 1024), 413, "body_too_large"),
    ],
    ids=["empty", "not-msgpack", "missing-update", "unknown-field", "bad-cursor", "too-large"],
)
async def test_batch_envelope_refusals(
    harness: Harness, body: bytes, status: int, reason: str
) -> None:
    headers = {**MSGPACK, **await auth(harness)}
    response = await harness.client.post("/api/sync", content=body, headers=headers)
    assert (response.status_code, reason_of(response)) == (status, reason)


async def test_batch_answers_per_document_and_keeps_the_good_ones(harness: Harness) -> None:
    good_id, _, good = new_record()
    other_id, _, other = new_record(grid="G2")
    bad_id = str(uuid.uuid4())
    request = {
        "push": [
            {"doc": good_id, "update": good},
            {"doc": other_id, "update": other},
            {"doc": bad_id, "update": b"\xff\xfe"},
            {"doc": str(uuid.uuid4()), "update": no_meta_update()},
        ]
    }
    response = await harness.client.post(
        "/api/sync",
        content=msgspec.msgpack.encode(request),
        headers={**MSGPACK, **await auth(harness)},
    )
    assert response.status_code == 200
    answer = msgspec.msgpack.decode(response.content)
    assert [(r["status"], r.get("reason")) for r in answer["results"]] == [
        ("accepted", None),
        ("refused", "out_of_scope"),
        ("refused", "malformed_update"),
        ("refused", "missing_meta"),
    ]
    assert await harness.stored_update_count() == 1


@pytest.mark.parametrize(
    ("headers", "reason"),
    [
        ({}, "missing_credentials"),
        ({"Authorization": "Bearer dst_wrong"}, "invalid_token"),
        ({"Authorization": "Basic abc"}, "invalid_token"),
    ],
    ids=["missing", "wrong", "not-bearer"],
)
async def test_every_endpoint_needs_a_valid_token(
    harness: Harness, headers: dict[str, str], reason: str
) -> None:
    doc_id = str(uuid.uuid4())
    for method, path, body in [
        ("POST", "/api/sync", msgspec.msgpack.encode({})),
        ("POST", f"/docs/{doc_id}/update", VALID),
        ("GET", f"/docs/{doc_id}/state", None),
        ("GET", f"/docs/{doc_id}/update", None),
    ]:
        response = await harness.client.request(
            method, path, content=body, headers={**MSGPACK, **headers}
        )
        assert (response.status_code, reason_of(response)) == (401, reason), path
    assert await harness.stored_update_count() == 0


async def test_reads_outside_scope_look_like_absent_documents(harness: Harness) -> None:
    doc_id, _, first = new_record(grid="G1")
    ok = await harness.client.post(
        f"/docs/{doc_id}/update", content=first, headers=await auth(harness)
    )
    assert ok.status_code == 200
    outsider = await auth(harness, "G2")
    for path in [f"/docs/{doc_id}/state", f"/docs/{doc_id}/update", f"/docs/{uuid.uuid4()}/state"]:
        response = await harness.client.get(path, headers=outsider)
        assert (response.status_code, reason_of(response)) == (404, "unknown_document")


async def test_malformed_ids_and_state_vectors(harness: Harness) -> None:
    doc_id, _, first = new_record()
    headers = await auth(harness)
    await harness.client.post(f"/docs/{doc_id}/update", content=first, headers=headers)
    response = await harness.client.get("/docs/not-a-uuid/state", headers=headers)
    assert (response.status_code, reason_of(response)) == (400, "malformed_document_id")
    for sv in ["%%%", "AAAA_-garbage"]:
        response = await harness.client.get(
            f"/docs/{doc_id}/update", params={"sv": sv}, headers=headers
        )
        assert (response.status_code, reason_of(response)) == (400, "malformed_state_vector")
