"""Group commit: pushes that wait for the log while an append is under way go together
in the next append, so many tablets share one transaction (and one fsync)."""

import asyncio
from collections.abc import Sequence

from sync.ports import NewUpdate, UpdateStore

Heads = dict[str, tuple[int, int]]
_Waiter = tuple[Sequence[NewUpdate], asyncio.Future[Heads]]


class GroupCommit:
    def __init__(self, store: UpdateStore, max_updates: int = 5000) -> None:
        self._store = store
        self._max_updates = max_updates
        self._waiting: list[_Waiter] = []
        self._writer: asyncio.Task[None] | None = None

    async def append(self, updates: Sequence[NewUpdate]) -> Heads:
        """Durable on return, like `UpdateStore.append`; fails if the shared append fails."""
        done: asyncio.Future[Heads] = asyncio.get_running_loop().create_future()
        self._waiting.append((updates, done))
        if self._writer is None or self._writer.done():
            self._writer = asyncio.create_task(self._write())
        return await done

    async def _write(self) -> None:
        while self._waiting:
            group: list[_Waiter] = []
            size = 0
            while self._waiting and (
                not group or size + len(self._waiting[0][0]) <= self._max_updates
            ):
                updates, done = self._waiting.pop(0)
                group.append((updates, done))
                size += len(updates)
            try:
                heads = await self._store.append([u for updates, _ in group for u in updates])
            except Exception as error:  # every waiter learns; none is left hanging
                for _, done in group:
                    if not done.done():
                        done.set_exception(error)
                continue
            for _, done in group:
                if not done.done():
                    done.set_result(heads)
