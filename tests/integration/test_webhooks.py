"""Webhooks against a real local HTTP endpoint: signed, retried with backoff, parked and
replayed, review decisions as events, and one delivery per event with two servers."""

import asyncio
import itertools
from collections import Counter
from collections.abc import Callable
from contextlib import AsyncExitStack
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa

from server.access.audit import SYSTEM, Audit
from server.access.roles import Role
from server.db.feed_tables import webhook_deliveries
from server.webhooks import registry
from server.webhooks.dispatcher import KEEP_DELIVERED
from server.webhooks.sender import prune

from .harness import TWO_COMMUNITIES, Harness, org, person, running_app, session_headers
from .test_projection import settled
from .webhook_receiver import Receiver, receiving

BACKOFF = (0.3, 0.6)  # three attempts, then parked


@pytest.fixture(autouse=True)
def quick_retries(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DOORSTEP_WEBHOOK_BACKOFF", ",".join(map(str, BACKOFF)))
    monkeypatch.setenv("DOORSTEP_WEBHOOK_POLL_SECONDS", "0.05")
    monkeypatch.setenv("DOORSTEP_WEBHOOK_TIMEOUT_SECONDS", "0.5")


async def admin(harness: Harness) -> dict[str, str]:
    await org(harness, *TWO_COMMUNITIES)
    someone = await person(harness, Role.ADMIN, [], "admin-hooks")
    return await session_headers(harness, someone)


async def register(
    harness: Harness, headers: dict[str, str], receiver: Receiver, events: list[str] | None = None
) -> str:
    body: dict[str, Any] = {"url": receiver.url, **({"events": events} if events else {})}
    response = await harness.client.post("/api/admin/webhooks", json=body, headers=headers)
    assert response.status_code == 201, response.text
    receiver.secret = response.json()["secret"]
    hook_id: str = response.json()["id"]
    return hook_id


async def until(condition: Callable[[], bool], seconds: float = 30) -> None:
    for _ in range(int(seconds / 0.05)):
        if condition():
            return
        await asyncio.sleep(0.05)
    raise AssertionError("not in time")


async def deliveries(
    harness: Harness, headers: dict[str, str], hook_id: str, **params: str
) -> list[dict[str, Any]]:
    path = f"/api/admin/webhooks/{hook_id}/deliveries"
    response = await harness.client.get(path, params=params, headers=headers)
    assert response.status_code == 200, response.text
    items: list[dict[str, Any]] = response.json()["items"]
    return items


async def test_failures_are_retried_with_backoff_then_delivered_once(
    database_url: str, tmp_path: Path
) -> None:
    async with running_app(database_url) as harness, receiving(Receiver(failures=2)) as receiver:
        headers = await admin(harness)
        hook_id = await register(harness, headers, receiver)
        tablet, _ = await harness.tablet(tmp_path / "t.sqlite3", "G1")
        records = [tablet.new_record("visit", "G1", {"purpose": "routine"}) for _ in range(3)]
        await tablet.sync()
        await until(lambda: len(receiver.accepted()) == 3)
        await asyncio.sleep(0.5)  # nothing more comes

        assert all(r.signed for r in receiver.requests)
        accepted = receiver.accepted()
        assert sorted(r.body["data"]["doc_id"] for r in accepted) == sorted(r.id for r in records)
        assert {r.body["event"] for r in accepted} == {"record.changed"}
        for r in receiver.requests:
            assert r.headers["x-doorstep-delivery"] == r.body["id"]
        # The first delivery failed twice, then went through under the same id, each retry
        # after at least its backoff.
        first = [r for r in receiver.requests if r.body["id"] == receiver.requests[0].body["id"]]
        assert [r.answered for r in first] == [500, 500, 200]
        gaps = [later.at - earlier.at for earlier, later in itertools.pairwise(first)]
        assert gaps[0] >= BACKOFF[0] * 0.9 and gaps[1] >= BACKOFF[1] * 0.9, gaps
        assert len(receiver.requests) == 5  # two failures, three deliveries: none twice

        shown = await deliveries(harness, headers, hook_id)
        assert Counter(d["status"] for d in shown) == {"delivered": 3}
        assert sorted(d["attempts"] for d in shown) == [1, 1, 3]
        await tablet.close()


async def test_a_dead_endpoint_stalls_no_one_is_parked_then_replayed(
    database_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("DOORSTEP_WEBHOOK_TIMEOUT_SECONDS", "60")
    async with AsyncExitStack() as stack:
        harness = await stack.enter_async_context(running_app(database_url))
        dead = await stack.enter_async_context(receiving(Receiver(hang=True)))
        healthy = await stack.enter_async_context(receiving(Receiver()))
        headers = await admin(harness)
        dead_id = await register(harness, headers, dead)
        await register(harness, headers, healthy)
        tablet, _ = await harness.tablet(tmp_path / "t.sqlite3", "G1")
        record = tablet.new_record("visit", "G1", {"purpose": "routine"})
        await tablet.sync()

        # The healthy endpoint is served while the dead one's request is still hanging.
        await until(lambda: len(healthy.accepted()) == 1 and len(dead.handlers) == 1)
        assert dead.requests == []

        # It answers 500 from now on: retried with backoff, then parked.
        dead.always_fail = True
        dead.released.set()

        async def parked() -> list[dict[str, Any]]:
            return await deliveries(harness, headers, dead_id, status="parked")

        for _ in range(400):
            if await parked():
                break
            await asyncio.sleep(0.05)
        [stuck] = await parked()
        assert (stuck["attempts"], stuck["last_status"]) == (len(BACKOFF) + 1, 500)
        assert len(dead.requests) == len(BACKOFF) + 1
        listed = (await harness.client.get("/api/admin/webhooks", headers=headers)).json()
        counts = {hook["id"]: hook["deliveries"] for hook in listed["items"]}
        assert counts[dead_id] == {"parked": 1}
        assert "secret" not in str(listed)

        # Fixed: a replay delivers it, once.
        dead.always_fail = False
        path = f"/api/admin/webhooks/{dead_id}/replay"
        response = await harness.client.post(path, headers=headers)
        assert response.json() == {"replayed": 1}
        await until(lambda: len(dead.accepted()) == 1)
        await asyncio.sleep(0.3)
        [delivered] = dead.accepted()
        assert delivered.body["id"] == stuck["id"] and delivered.body["data"]["doc_id"] == record.id
        assert (await parked()) == [] and len(healthy.requests) == 1
        await tablet.close()


async def test_review_decisions_are_events(database_url: str, tmp_path: Path) -> None:
    async with running_app(database_url) as harness, receiving(Receiver()) as receiver:
        headers = await admin(harness)
        await register(harness, headers, receiver, ["record.reviewed"])
        tablet, _ = await harness.tablet(tmp_path / "t.sqlite3", "G1")
        visit = tablet.new_record("visit", "G1", {"purpose": "routine"})
        await tablet.sync()
        await settled(harness)
        coordinator = await harness.token("G1", "社区工作人员", Role.COORDINATOR)
        bearer = {"Authorization": f"Bearer {coordinator}"}
        for decision in ({"action": "approve"}, {"action": "send_back", "comment": "补电话"}):
            path = f"/api/visits/{visit.id}/review"
            response = await harness.client.post(path, json=decision, headers=bearer)
            assert response.status_code == 200, response.text
        await until(lambda: len(receiver.accepted()) == 2)
        await asyncio.sleep(0.5)
        events = [r.body for r in receiver.accepted()]
        assert [e["event"] for e in events] == ["record.reviewed"] * 2
        assert [e["data"]["action"] for e in events] == ["approve", "send_back"]
        assert {e["data"]["doc_id"] for e in events} == {visit.id}
        assert "补电话" not in str(events)  # identifiers only: comments stay in the record
        assert len(receiver.requests) == 2
        await tablet.close()


async def test_two_servers_deliver_each_event_once(database_url: str, tmp_path: Path) -> None:
    async with AsyncExitStack() as stack:
        first = await stack.enter_async_context(running_app(database_url))
        await stack.enter_async_context(running_app(database_url))
        receiver = await stack.enter_async_context(receiving(Receiver()))
        headers = await admin(first)
        await register(first, headers, receiver)
        tablets = [(await first.tablet(tmp_path / f"t{n}.sqlite3", "G1"))[0] for n in range(4)]
        for round_ in range(3):
            for tablet in tablets:
                tablet.new_record("visit", "G1", {"findings": f"第{round_}轮"})
            await asyncio.gather(*(tablet.sync() for tablet in tablets))
        await until(lambda: len(receiver.accepted()) == 12)
        await asyncio.sleep(1)
        ids = Counter(r.body["id"] for r in receiver.requests)
        docs = Counter(r.body["data"]["doc_id"] for r in receiver.requests)
        assert len(ids) == 12 and set(ids.values()) == {1} and set(docs.values()) == {1}
        for tablet in tablets:
            await tablet.close()


async def test_deliveries_delivered_long_ago_are_pruned_parked_ones_kept(database_url: str) -> None:
    async with running_app(database_url) as harness:
        engine = harness.services.database
        made = await registry.create(engine, Audit(engine), "http://127.0.0.1:9/", ["x"], SYSTEM)
        long_ago = datetime.now(UTC) - KEEP_DELIVERED - timedelta(hours=1)
        rows = [
            {"id": status, "webhook_id": made.id, "event_id": status, "event": "record.changed",
             "position": 1, "body": "{}", "status": status, "attempts": 1,
             "next_attempt_at": long_ago, "created_at": long_ago, "delivered_at": long_ago}
            for status in ("delivered", "parked")
        ]  # fmt: skip
        async with engine.begin() as connection:
            await connection.execute(webhook_deliveries.insert(), rows)
        assert await prune(engine, KEEP_DELIVERED) == 1
        async with engine.connect() as connection:
            left = await connection.execute(sa.select(webhook_deliveries.c.status))
            assert left.scalars().all() == ["parked"]
