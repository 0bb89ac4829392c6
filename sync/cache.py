"""A bounded cache of loaded documents, one per document, with a lock each.

The bound is on the memory the loaded documents take, estimated from measurements on
pycrdt 0.14 (`tests/unit/test_cache_cost.py` holds the estimate to a process's resident
memory; docs/architecture.md#cache has the figures): a fixed `ENTRY_BYTES` per document,
plus the larger of the bytes applied to it × `Limits.doc_cost_factor` (records as the SDK
writes them take 2.5–3.6× their update bytes) and its items × `ITEM_BYTES` (a nested
Y.Map's key takes ~400 bytes whatever its value, which the bytes alone would miss).
"""

import asyncio
from collections import OrderedDict
from collections.abc import AsyncIterator, Iterable
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Any
from weakref import WeakValueDictionary

from pycrdt import Doc

from sync.guard import Guard
from sync.updates import decode_state_vector

# The Doc, its guard's four observers, their Python objects and this entry, before any
# content (~9-10 KB of a process's resident memory).
ENTRY_BYTES = 12 << 10
# The most one item takes beside its content (a nested Y.Map's key: ~400-450 bytes).
ITEM_BYTES = 500


@dataclass(slots=True)
class Loaded:
    """A document as of `seq`: every stored update up to `seq` is applied."""

    doc: Doc[Any]
    seq: int = 0
    # The bytes applied to `doc` × the cost factor (`DocCache.grow`).
    cost: int = 0
    # What the cache's total holds for this entry: its estimate when it was last put.
    counted: int = 0
    # Watches what a tablet's update does to the guarded roots (made at its first push).
    guard: Guard | None = None
    # Why the stored document cannot be read (sync.document.Unreadable), if so.
    unreadable: str | None = None


def estimate(entry: Loaded) -> int:
    """The memory a loaded document takes, in bytes (see the module's docstring)."""
    items = sum(decode_state_vector(entry.doc.get_state()).values())
    return ENTRY_BYTES + max(entry.cost, items * ITEM_BYTES)


class DocCache:
    """Least recently used documents, bounded by their estimated memory cost."""

    def __init__(self, budget_bytes: int, cost_factor: int) -> None:
        self._entries: OrderedDict[str, Loaded] = OrderedDict()
        self._locks: WeakValueDictionary[str, asyncio.Lock] = WeakValueDictionary()
        self._budget = budget_bytes
        self._factor = cost_factor
        self._total = 0

    def get(self, doc_id: str) -> Loaded | None:
        entry = self._entries.get(doc_id)
        if entry is not None:
            self._entries.move_to_end(doc_id)
        return entry

    def put(self, doc_id: str, entry: Loaded) -> None:
        self.evict(doc_id)
        self._entries[doc_id] = entry
        entry.counted = estimate(entry)
        self._total += entry.counted

    def grow(self, entry: Loaded, applied_bytes: int) -> None:
        """Account for `applied_bytes` more applied to an entry; the cache's total follows
        at its next `put` (every write path puts what it loaded or changed)."""
        entry.cost += applied_bytes * self._factor

    @property
    def total(self) -> int:
        return self._total

    def evict(self, doc_id: str) -> None:
        entry = self._entries.pop(doc_id, None)
        if entry is not None:
            self._total -= entry.counted

    def trim(self) -> None:
        """Unload the least recently used documents until within budget (locked ones too:
        a holder keeps its own reference, and the log decides what is reloaded)."""
        while self._total > self._budget and len(self._entries) > 1:
            _, entry = self._entries.popitem(last=False)
            self._total -= entry.counted

    @asynccontextmanager
    async def locked(self, doc_ids: Iterable[str]) -> AsyncIterator[None]:
        """Hold the locks of these documents, taken in sorted order to avoid deadlock."""
        locks = []
        for doc_id in sorted(set(doc_ids)):
            lock = self._locks.get(doc_id)
            if lock is None:
                lock = asyncio.Lock()
                self._locks[doc_id] = lock
            locks.append(lock)
        taken: list[asyncio.Lock] = []
        try:
            for lock in locks:
                await lock.acquire()
                taken.append(lock)
            yield
        finally:
            for lock in reversed(taken):
                lock.release()
