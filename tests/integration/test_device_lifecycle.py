"""A tablet's life: enrolled by a one-time code, synced, rotated, revoked; its account moved
between grids, with the SDK dropping what it may no longer read but never unsent edits."""

from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
import sqlalchemy as sa

from server.access.accounts import AccountChange
from server.access.audit import SYSTEM
from server.access.org import Level, Unit
from server.access.roles import Role
from server.access.secrets import hash_secret
from server.db.access_tables import audit_log, devices, enrollments
from server.db.tables import metadata
from tablet import EnrollmentFailed, NotEnrolled, RequestFailed, SyncFailed, Tablet
from tablet.client import DEFAULT_APP_VERSION

from .harness import BASE, Harness, running_app

SYNC = "/api/sync"
EMPTY_SYNC: dict[str, list[object]] = {"push": []}


@pytest.fixture
async def harness(database_url: str) -> AsyncIterator[Harness]:
    async with running_app(database_url) as h:
        await h.services.access.org.put(
            [
                Unit("S1", "城南街道", Level.STREET),
                Unit("C1", "幸福社区", Level.COMMUNITY, "S1"),
                Unit("G1", "一网格", Level.GRID, "C1"),
                Unit("G2", "二网格", Level.GRID, "C1"),
            ],
            SYSTEM,
        )
        yield h


async def member(harness: Harness, username: str, grids: list[str]) -> str:
    return await harness.services.access.accounts.create(
        username, username.title(), Role.GRID_MEMBER, grids, None, SYSTEM
    )


async def code_for(harness: Harness, account_id: str) -> str:
    enrollment = await harness.services.access.devices.start_enrollment(
        account_id, "一号平板", SYSTEM
    )
    return enrollment.code


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def reason(response: httpx.Response) -> str:
    found: str = response.json()["reason"]
    return found


async def sync_status(harness: Harness, token: str) -> tuple[int, str | None]:
    response = await harness.client.post(SYNC, json=EMPTY_SYNC, headers=bearer(token))
    return response.status_code, None if response.status_code == 200 else reason(response)


async def device_row(harness: Harness, device_id: str) -> Any:
    async with harness.services.database.connect() as connection:
        return (await connection.execute(sa.select(devices).where(devices.c.id == device_id))).one()


async def actions(harness: Harness) -> list[tuple[str, str]]:
    async with harness.services.database.connect() as connection:
        rows = await connection.execute(
            sa.select(audit_log.c.action, audit_log.c.outcome)
            .where(audit_log.c.action.like("device.%"))
            .order_by(audit_log.c.id)
        )
        return [(action, outcome) for action, outcome in rows]


async def everything_stored(harness: Harness) -> str:
    dumped: list[str] = []
    async with harness.services.database.connect() as connection:
        for table in metadata.sorted_tables:
            dumped += [repr(tuple(row)) for row in await connection.execute(sa.select(table))]
    return "\n".join(dumped)


async def test_a_code_enrolls_one_tablet_once(harness: Harness) -> None:
    wang = await member(harness, "wang", ["G1"])
    code = await code_for(harness, wang)
    typed = f" {code[:5].lower()}-{code[5:]} "  # as read out over the phone
    response = await harness.client.post("/api/enroll", json={"code": typed, "app_version": "1.4"})
    assert response.status_code == 201
    body = response.json()
    assert body["username"] == "wang" and body["display_name"] == "Wang"
    assert body["grids"] == ["G1"] and body["token"].startswith("dst_")
    assert response.headers["cache-control"] == "no-store"
    assert await sync_status(harness, body["token"]) == (200, None)
    assert (await device_row(harness, body["device_id"])).app_version == "1.4"

    again = await harness.client.post("/api/enroll", json={"code": code})
    assert (again.status_code, reason(again)) == (400, "invalid_enrollment_code")
    unknown = await harness.client.post("/api/enroll", json={"code": "ABCDEFGHJK"})
    assert (unknown.status_code, reason(unknown)) == (400, "invalid_enrollment_code")
    assert await actions(harness) == [
        ("device.enrollment_started", "ok"),
        ("device.enrolled", "ok"),
        ("device.enroll", "failed"),
        ("device.enroll", "failed"),
    ]
    stored = await everything_stored(harness)
    assert body["token"] not in stored and code not in stored


async def test_an_expired_code_is_refused(harness: Harness) -> None:
    wang = await member(harness, "wang", ["G1"])
    async with harness.services.database.begin() as connection:
        await connection.execute(
            enrollments.insert().values(
                code_hash=hash_secret("EXPIRED234"),
                account_id=wang,
                device_name="旧平板",
                expires_at=datetime.now(UTC) - timedelta(seconds=1),
            )
        )
    response = await harness.client.post("/api/enroll", json={"code": "expired234"})
    assert (response.status_code, reason(response)) == (400, "invalid_enrollment_code")


@pytest.mark.parametrize(
    "body", [{}, {"code": ""}, {"code": 1234}, {"code": "ABC", "device": "x"}, {"code": "A" * 65}]
)
async def test_a_malformed_enrollment_is_a_clear_400(harness: Harness, body: object) -> None:
    response = await harness.client.post("/api/enroll", json=body)
    assert (response.status_code, reason(response)) == (400, "malformed_request")


async def test_the_sdk_enrolls_then_syncs_with_the_stored_token(
    harness: Harness, tmp_path: Path
) -> None:
    wang = await member(harness, "wang", ["G1"])
    with pytest.raises(NotEnrolled):
        Tablet(tmp_path / "new.sqlite3", BASE, http=harness.client)
    with pytest.raises(EnrollmentFailed) as failed:
        await Tablet.enroll(tmp_path / "t.sqlite3", BASE, "WRONGCODE2", http=harness.client)
    assert failed.value.reason == "invalid_enrollment_code"

    code = await code_for(harness, wang)
    path = tmp_path / "wang.sqlite3"
    async with await Tablet.enroll(path, BASE, code, author="王芳", http=harness.client) as tablet:
        visit = tablet.new_record("visit", "G1", {"purpose": "routine"})
        assert (await tablet.sync()).pushed == 1
        device_id = tablet.device_id
    assert device_id is not None
    row = await device_row(harness, device_id)
    assert row.app_version == DEFAULT_APP_VERSION and row.last_sync_at is not None
    first_sync = row.last_sync_at

    # Reopened without a token: the stored one is used; a new app version is recorded.
    async with Tablet(path, BASE, http=harness.client, app_version="2.0.1") as tablet:
        assert tablet.record(visit.id).get("purpose") == "routine"
        tablet.record(visit.id).set("purpose", "care_visit")
        assert (await tablet.sync()).pushed == 1
    row = await device_row(harness, device_id)
    assert row.app_version == "2.0.1" and row.last_sync_at > first_sync


async def test_a_revoked_tablet_is_refused_on_its_next_request(
    harness: Harness, tmp_path: Path
) -> None:
    wang = await member(harness, "wang", ["G1"])
    device = await harness.services.access.devices.add(wang, "平板", SYSTEM)
    tablet = Tablet(tmp_path / "t.sqlite3", BASE, device.token, http=harness.client)
    tablet.new_record("visit", "G1", {"purpose": "routine"})
    await tablet.sync()
    visit = tablet.new_record("visit", "G1", {"purpose": "care_visit"})

    await harness.services.access.devices.revoke(device.id, SYSTEM)
    assert await sync_status(harness, device.token) == (401, "invalid_token")
    state = await harness.client.get(f"/docs/{visit.id}/state", headers=bearer(device.token))
    assert (state.status_code, reason(state)) == (401, "invalid_token")
    with pytest.raises(SyncFailed) as failed:
        await tablet.sync()
    assert failed.value.reason == "invalid_token"
    assert tablet.store.unsent_count() == 1  # the unsent visit stays on the tablet
    await tablet.close()
    assert ("device.revoked", "ok") in await actions(harness)


async def test_a_rotated_token_replaces_its_predecessor_at_once(harness: Harness) -> None:
    wang = await member(harness, "wang", ["G1"])
    enrolled = await harness.client.post(
        "/api/enroll", json={"code": await code_for(harness, wang)}
    )
    old = enrolled.json()["token"]
    response = await harness.client.post("/api/device/rotate", headers=bearer(old))
    assert response.status_code == 200
    new = response.json()["token"]
    assert response.json()["device_id"] == enrolled.json()["device_id"]
    assert new != old and response.headers["cache-control"] == "no-store"
    assert await sync_status(harness, old) == (401, "invalid_token")
    assert await sync_status(harness, new) == (200, None)
    again = await harness.client.post("/api/device/rotate", headers=bearer(old))
    assert (again.status_code, reason(again)) == (401, "invalid_token")
    anonymous = await harness.client.post("/api/device/rotate")
    assert (anonymous.status_code, reason(anonymous)) == (401, "missing_credentials")
    assert ("device.rotated", "ok") in await actions(harness)
    stored = await everything_stored(harness)
    assert old not in stored and new not in stored


async def test_the_sdk_rotates_and_keeps_its_new_token(harness: Harness, tmp_path: Path) -> None:
    wang = await member(harness, "wang", ["G1"])
    path = tmp_path / "wang.sqlite3"
    tablet = await Tablet.enroll(path, BASE, await code_for(harness, wang), http=harness.client)
    old = tablet.store.token()
    assert old is not None
    await tablet.rotate_token()
    assert tablet.store.token() not in (None, old)
    assert await sync_status(harness, old) == (401, "invalid_token")
    tablet.new_record("visit", "G1", {"purpose": "routine"})
    assert (await tablet.sync()).pushed == 1
    await tablet.close()
    async with Tablet(path, BASE, http=harness.client) as reopened:
        assert (await reopened.sync()).requests == 1


@pytest.mark.parametrize("lost", ["request", "answer"])
async def test_a_rotation_whose_answer_is_lost_does_not_lock_the_tablet_out(
    harness: Harness, tmp_path: Path, lost: str
) -> None:
    wang = await member(harness, "wang", ["G1"])
    network = harness.network()
    http = httpx.AsyncClient(transport=network, base_url=BASE)
    path = tmp_path / "wang.sqlite3"
    tablet = await Tablet.enroll(path, BASE, await code_for(harness, wang), http=http)
    old = tablet.store.token()
    if lost == "request":
        network.drop_requests = 1
    else:
        network.drop_answers = 1
    with pytest.raises(RequestFailed):
        await tablet.rotate_token()
    tablet.new_record("visit", "G1", {"purpose": "routine"})
    assert (await tablet.sync()).pushed == 1  # whichever token the server holds is kept
    rotated = lost == "answer"
    assert (tablet.store.token() != old) is rotated
    assert await sync_status(harness, old) == ((401, "invalid_token") if rotated else (200, None))
    assert tablet.store.pending_token() is None
    await tablet.close()
    await http.aclose()


async def test_a_disabled_accounts_tablets_are_refused(harness: Harness) -> None:
    wang = await member(harness, "wang", ["G1"])
    device = await harness.services.access.devices.add(wang, "平板", SYSTEM)
    accounts = harness.services.access.accounts
    await accounts.change(wang, AccountChange(disabled=True), SYSTEM)
    assert await sync_status(harness, device.token) == (401, "invalid_token")
    rotate = await harness.client.post("/api/device/rotate", headers=bearer(device.token))
    assert (rotate.status_code, reason(rotate)) == (401, "invalid_token")
    await accounts.change(wang, AccountChange(disabled=False), SYSTEM)
    assert await sync_status(harness, device.token) == (200, None)


async def test_a_session_cannot_rotate_a_device_token(harness: Harness) -> None:
    await harness.services.access.accounts.create(
        "zhang", "张敏", Role.COORDINATOR, ["C1"], "correct horse battery", SYSTEM
    )
    login = await harness.client.post(
        "/api/session", json={"username": "zhang", "password": "correct horse battery"}
    )
    csrf = {"X-CSRF-Token": login.json()["csrf_token"]}
    response = await harness.client.post("/api/device/rotate", headers=csrf)
    assert (response.status_code, reason(response)) == (403, "device_required")


async def test_a_lost_grid_is_dropped_from_the_tablet_but_unsent_edits_are_kept(
    harness: Harness, tmp_path: Path
) -> None:
    wang = await member(harness, "wang", ["G1", "G2"])
    tablet = await Tablet.enroll(
        tmp_path / "wang.sqlite3", BASE, await code_for(harness, wang), http=harness.client
    )
    li, _ = await harness.tablet(tmp_path / "li.sqlite3", "G2", "李强")
    mine = tablet.new_record("household", "G1", {"room": "101"})
    left = tablet.new_record("household", "G2", {"room": "201"})
    edited = tablet.new_record("household", "G2", {"room": "202"})
    others = li.new_record("case", "G2", {"title": "楼道堆物"})
    await li.sync()
    assert (await tablet.sync()).pulled == 1  # li's case
    edited.set("room", "202A")  # typed after the last sync: unsent

    accounts = harness.services.access.accounts
    await accounts.change(wang, AccountChange(units=["G1"]), SYSTEM)
    report = await tablet.sync()
    assert report.dropped_grids == ["G2"]
    assert sorted(report.dropped) == sorted([left.id, others.id])
    assert report.kept_out_of_scope == [edited.id]
    assert [(r.doc_id, r.reason) for r in report.refused] == [(edited.id, "out_of_scope")]
    assert tablet.store.doc_ids() == sorted([mine.id, edited.id])
    assert tablet.record(edited.id).get("room") == "202A"
    with pytest.raises(KeyError):
        tablet.record(left.id)
    assert (await tablet.sync()).dropped_grids == []  # said once: the cursor forgot G2

    # Given G2 back, the tablet gets its documents again and can send the kept edit.
    await accounts.change(wang, AccountChange(units=["G1", "G2"]), SYSTEM)
    assert tablet.retry_refused("out_of_scope") == 1
    report = await tablet.sync()
    assert report.pushed == 1 and report.refused == []
    assert tablet.record(others.id).get("title") == "楼道堆物"
    assert tablet.record(left.id).get("room") == "201"  # its own, dropped before, is back
    await li.sync()
    assert li.record(edited.id).get("room") == "202A"
    await tablet.close()
    await li.close()
