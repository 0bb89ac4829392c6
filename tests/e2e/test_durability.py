"""A real server killed with SIGKILL at random moments while tablets push, then restarted:
no acknowledged update is missing and every tablet converges."""

import asyncio
import contextlib
import random
from pathlib import Path

import httpx
import pytest
from pycrdt import get_update

from tablet import SyncFailed, Tablet

from .conftest import ServerProcess

pytestmark = pytest.mark.slow
GRID = "G-durable"


class WatchedTablet:
    """A tablet that remembers every update the server acknowledged."""

    def __init__(self, tablet: Tablet) -> None:
        self.tablet = tablet
        self.acknowledged: list[tuple[str, bytes]] = []

    async def sync(self) -> None:
        before = {e.id: e for e in self.tablet.store.unsent(1 << 30, 1 << 30)}
        with contextlib.suppress(SyncFailed):
            await self.tablet.sync()
        after = {e.id for e in self.tablet.store.unsent(1 << 30, 1 << 30)}
        self.acknowledged += [(e.doc_id, e.data) for i, e in before.items() if i not in after]


async def work(watched: WatchedTablet, rng: random.Random, stop: asyncio.Event) -> None:
    tablet = watched.tablet
    while not stop.is_set():
        records = tablet.records()
        if not records or rng.random() < 0.3:
            tablet.new_record("visit", GRID, {"purpose": "日常走访", "findings": "楼道堆物" * 10})
        else:
            record = rng.choice(records)
            record.set("findings", f"第{rng.randint(1, 999)}次 记录")
            record.add_note(f"调解记录 {rng.random()}")
        await watched.sync()
        await asyncio.sleep(rng.uniform(0, 0.05))


async def test_no_acknowledged_update_is_lost_across_kills(
    server: ServerProcess, tmp_path: Path
) -> None:
    rng = random.Random(20261123)
    tablets = [
        WatchedTablet(
            Tablet(tmp_path / f"t{i}.sqlite3", server.url, server.add_device(GRID), f"员{i}")
        )
        for i in range(4)
    ]
    stop = asyncio.Event()
    workers = [asyncio.create_task(work(t, rng, stop)) for t in tablets]
    for _ in range(6):
        await asyncio.sleep(rng.uniform(0.3, 1.5))
        server.kill()
        await asyncio.sleep(rng.uniform(0, 0.3))
        await asyncio.to_thread(server.start)
    stop.set()
    await asyncio.gather(*workers)

    for _ in range(2):
        for watched in tablets:
            await watched.tablet.sync()
    acknowledged = [update for t in tablets for update in t.acknowledged]
    assert len(acknowledged) > 20, "the kills left too little work to check"
    checker = server.add_device(GRID, "checker")
    async with httpx.AsyncClient(
        base_url=server.url, headers={"Authorization": f"Bearer {checker}"}
    ) as http:
        for doc_id, update in acknowledged:
            state = (await http.get(f"/docs/{doc_id}/state")).content
            assert get_update(update, state)[0] == 0, f"acknowledged update of {doc_id} lost"
    views = [{r.id: r.to_plain() for r in t.tablet.records()} for t in tablets]
    assert all(view == views[0] for view in views)
    for watched in tablets:
        assert watched.tablet.store.unsent_count() == 0
        await watched.tablet.close()
