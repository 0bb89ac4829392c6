"""An in-memory update store: the reference the SQL stores are tested against."""

import asyncio
from collections.abc import Mapping, Sequence

from sync.ports import DocHead, NewUpdate, PullBatch, Snapshot, StoredUpdate


class MemoryStore:
    def __init__(self) -> None:
        self._rows: dict[int, StoredUpdate] = {}
        self._heads: dict[str, DocHead] = {}
        self._next_seq = 1
        self._lock = asyncio.Lock()

    async def heads(self, doc_ids: Sequence[str]) -> dict[str, DocHead]:
        return {doc_id: self._heads[doc_id] for doc_id in doc_ids if doc_id in self._heads}

    async def updates(self, doc_id: str, after_seq: int = 0) -> list[StoredUpdate]:
        return [
            row
            for seq, row in sorted(self._rows.items())
            if row.doc_id == doc_id and seq > after_seq
        ]

    async def append(self, updates: Sequence[NewUpdate]) -> dict[str, tuple[int, int]]:
        async with self._lock:
            result: dict[str, tuple[int, int]] = {}
            for update in updates:
                seq = self._next_seq
                self._next_seq += 1
                self._rows[seq] = StoredUpdate(
                    seq, update.doc_id, update.grid, update.data, update.device
                )
                head = self._heads.get(update.doc_id)
                if head is None:
                    head = DocHead(update.doc_id, update.kind or "", update.grid, 0, 0)
                before = result.get(update.doc_id, (head.head_seq, 0))[0]
                self._heads[update.doc_id] = DocHead(
                    head.doc_id, head.kind, head.grid, seq, head.update_count + 1
                )
                result[update.doc_id] = (before, seq)
            return result

    async def since(
        self,
        cursors: Mapping[str, int],
        exclude_device: str | None,
        max_bytes: int,
        max_rows: int,
    ) -> PullBatch:
        floor = min(cursors.values(), default=0)
        found: list[StoredUpdate] = []
        size = 0
        last_seq = 0
        for seq in sorted(s for s in self._rows if s > floor):
            row = self._rows[seq]
            if row.grid not in cursors or seq <= cursors[row.grid]:
                continue
            if found and (size + len(row.data) > max_bytes or len(found) >= max_rows):
                return PullBatch(found, last_seq, more=True)
            last_seq = seq
            if row.device is not None and row.device == exclude_device:
                continue
            found.append(row)
            size += len(row.data)
        return PullBatch(found, last_seq, more=False)

    async def updates_of(self, doc_ids: Sequence[str]) -> dict[str, list[StoredUpdate]]:
        return {doc_id: await self.updates(doc_id) for doc_id in doc_ids}

    async def replace_with_snapshots(self, snapshots: Sequence[Snapshot]) -> set[str]:
        replaced = set()
        for snapshot in snapshots:
            if await self.replace_with_snapshot(snapshot.doc_id, snapshot.seqs, snapshot.data):
                replaced.add(snapshot.doc_id)
        return replaced

    async def replace_with_snapshot(
        self, doc_id: str, seqs: Sequence[int], snapshot: bytes
    ) -> bool:
        async with self._lock:
            if not seqs or any(
                seq not in self._rows or self._rows[seq].doc_id != doc_id for seq in seqs
            ):
                return False
            top = max(seqs)
            for seq in seqs:
                del self._rows[seq]
            grid = self._heads[doc_id].grid
            self._rows[top] = StoredUpdate(top, doc_id, grid, snapshot, None)
            head = self._heads[doc_id]
            self._heads[doc_id] = DocHead(
                doc_id, head.kind, grid, head.head_seq, head.update_count - len(seqs) + 1
            )
            return True
