"""Concurrent appends share transactions, and a failed one fails every waiter."""

import asyncio
from collections.abc import Sequence

from sync.group_commit import GroupCommit
from sync.memory import MemoryStore
from sync.ports import NewUpdate


class CountingStore(MemoryStore):
    def __init__(self, fail: bool = False) -> None:
        super().__init__()
        self.appends = 0
        self.fail = fail

    async def append(self, updates: Sequence[NewUpdate]) -> dict[str, tuple[int, int]]:
        self.appends += 1
        await asyncio.sleep(0.01)  # a commit takes time: others queue meanwhile
        if self.fail:
            raise OSError("disk full")
        return await super().append(updates)


def update(n: int) -> NewUpdate:
    return NewUpdate(f"doc-{n}", "G1", b"x", "d", "visit")


async def test_waiting_pushes_share_one_append() -> None:
    store = CountingStore()
    log = GroupCommit(store.append)
    heads = await asyncio.gather(*(log.append([update(n)]) for n in range(20)))
    assert store.appends <= 2
    assert all(f"doc-{n}" in heads[n] for n in range(20))
    assert sorted(h[f"doc-{n}"][1] for n, h in enumerate(heads)) == list(range(1, 21))


async def test_a_failed_append_fails_every_waiter_and_the_next_one_runs() -> None:
    store = CountingStore(fail=True)
    log = GroupCommit(store.append)
    results = await asyncio.gather(
        *(log.append([update(n)]) for n in range(5)), return_exceptions=True
    )
    assert all(isinstance(result, OSError) for result in results)
    store.fail = False
    assert "doc-9" in await log.append([update(9)])


async def test_groups_are_bounded() -> None:
    store = CountingStore()
    log = GroupCommit(store.append, max_items=3)
    await asyncio.gather(*(log.append([update(n), update(n + 100)]) for n in range(6)))
    assert store.appends >= 4
