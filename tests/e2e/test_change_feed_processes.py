"""Two real server processes on one PostgreSQL, tablets syncing through both: a consumer
paging the change feed misses no change, and a webhook gets every event once."""

import asyncio
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import httpx
import pytest
import sqlalchemy as sa

from server.access.audit import SYSTEM, Audit
from server.access.authenticate import Access
from server.access.sessions import LoginPolicy
from server.db.engine import make_engine
from server.db.tables import documents
from server.webhooks import registry
from tablet import Tablet
from tests.integration.webhook_receiver import Receiver, receiving

from .conftest import ServerProcess

pytestmark = [pytest.mark.slow, pytest.mark.postgres]
GRID = "G-feed"


async def _setup(database_url: str, url: str) -> tuple[str, str]:
    """A machine token reading GRID, and a webhook's secret."""
    engine = make_engine(database_url)
    try:
        access = Access.build(engine, LoginPolicy())
        token = await access.machine_tokens.create("数据平台", [GRID], SYSTEM)
        hook = await registry.create(engine, Audit(engine), url, list(registry.EVENTS), SYSTEM)
        return token.token, hook.secret
    finally:
        await engine.dispose()


async def _heads(database_url: str) -> dict[str, int]:
    engine = make_engine(database_url)
    try:
        async with engine.connect() as connection:
            query = sa.select(documents.c.id, documents.c.head_seq)
            return {row.id: row.head_seq for row in await connection.execute(query)}
    finally:
        await engine.dispose()


async def test_feed_and_webhooks_with_two_processes(
    server: ServerProcess, tmp_path: Path, database_url: str
) -> None:
    if not database_url.startswith("postgresql"):
        pytest.skip("two server processes share one PostgreSQL, not one SQLite file")
    server.add_device(GRID)  # makes the grid's unit
    async with receiving(Receiver()) as receiver:
        with ThreadPoolExecutor(1) as thread:
            token, receiver.secret = thread.submit(
                asyncio.run, _setup(database_url, receiver.url)
            ).result()
        server.stop()
        other = ServerProcess(database_url, tmp_path / "other")
        other.workdir.mkdir()
        for process in (server, other):
            process.env["DOORSTEP_WEBHOOK_POLL_SECONDS"] = "0.2"
        await asyncio.gather(asyncio.to_thread(server.start), asyncio.to_thread(other.start))
        try:
            writing = True
            seen: dict[str, set[int]] = {}

            async def tablet_work(number: int) -> None:
                target = (server, other)[number % 2]
                device = await asyncio.to_thread(target.add_device, GRID)
                path = tmp_path / f"t{number}.sqlite3"
                async with Tablet(path, target.url, device, "网格员") as tablet:
                    records = []
                    for round_ in range(6):
                        records.append(tablet.new_record("visit", GRID, {"purpose": "routine"}))
                        for record in records[-3:]:
                            record.set("findings", f"第{round_}轮")
                        await tablet.sync()

            async def consume() -> int:
                pages, cursor = 0, None
                headers = {"Authorization": f"Bearer {token}"}
                async with httpx.AsyncClient(base_url=server.url, timeout=30) as client:
                    while True:
                        params: dict[str, Any] = {"limit": 7}
                        if cursor:
                            params["since"] = cursor
                        response = await client.get("/api/changes", params=params, headers=headers)
                        assert response.status_code == 200, response.text
                        page = response.json()
                        pages += 1
                        for item in page["items"]:
                            seen.setdefault(item["doc_id"], set()).add(item["seq"])
                        cursor = page["next"]
                        if not page["more"]:
                            if not writing and not page["waiting"]:
                                return pages
                            await asyncio.sleep(0.1)

            consumer = asyncio.create_task(consume())
            await asyncio.gather(*(tablet_work(n) for n in range(6)))
            heads = await _heads(database_url)
            writing = False
            pages = await asyncio.wait_for(consumer, 120)
            assert len(heads) == 6 * 6 and pages > 5
            missed = [doc for doc, head in heads.items() if head not in seen.get(doc, set())]
            assert not missed, f"{len(missed)} documents never seen at their final head"

            def delivered_at_heads() -> bool:
                got = {
                    (r.body["data"]["doc_id"], r.body["data"]["seq"]) for r in receiver.accepted()
                }
                return set(heads.items()) <= got

            for _ in range(600):
                if delivered_at_heads():
                    break
                await asyncio.sleep(0.1)
            assert delivered_at_heads(), "a change never reached the webhook"
            await asyncio.sleep(1)
            assert all(r.signed for r in receiver.requests)
            twice = [
                i for i, n in Counter(r.body["id"] for r in receiver.requests).items() if n > 1
            ]
            assert not twice, f"{len(twice)} deliveries sent twice"
        finally:
            other.stop()
