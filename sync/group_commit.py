"""Group commit: writes that wait while one is under way go together in the next one, so
many requests share one transaction (and one fsync). The update log uses it for pushes;
the server for the bookkeeping of syncs."""

import asyncio
from collections.abc import Awaitable, Callable, Sequence
from typing import Generic, TypeVar

Item = TypeVar("Item")
Result = TypeVar("Result")


class GroupCommit(Generic[Item, Result]):
    def __init__(
        self, write: Callable[[list[Item]], Awaitable[Result]], max_items: int = 5000
    ) -> None:
        self._write_items = write
        self._max_items = max_items
        self._waiting: list[tuple[Sequence[Item], asyncio.Future[Result]]] = []
        self._writer: asyncio.Task[None] | None = None

    async def append(self, items: Sequence[Item]) -> Result:
        """Durable on return, like one `write(items)`; fails if the shared write fails.
        Every waiter of a group gets that group's result."""
        done: asyncio.Future[Result] = asyncio.get_running_loop().create_future()
        self._waiting.append((items, done))
        if self._writer is None or self._writer.done():
            self._writer = asyncio.create_task(self._write())
        return await done

    async def _write(self) -> None:
        while self._waiting:
            group: list[tuple[Sequence[Item], asyncio.Future[Result]]] = []
            size = 0
            while self._waiting and (
                not group or size + len(self._waiting[0][0]) <= self._max_items
            ):
                items, done = self._waiting.pop(0)
                group.append((items, done))
                size += len(items)
            try:
                result = await self._write_items([item for items, _ in group for item in items])
            except Exception as error:  # every waiter learns; none is left hanging
                for _, done in group:
                    if not done.done():
                        done.set_exception(error)
                continue
            for _, done in group:
                if not done.done():
                    done.set_result(result)
