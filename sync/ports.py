"""The one port the core needs from storage: an append-only update log."""

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Protocol


@dataclass(frozen=True, slots=True)
class DocHead:
    """What the log knows of a document without loading it."""

    doc_id: str
    kind: str
    grid: str
    head_seq: int
    update_count: int


@dataclass(frozen=True, slots=True)
class StoredUpdate:
    seq: int
    doc_id: str
    grid: str
    data: bytes
    device: str | None


@dataclass(frozen=True, slots=True)
class NewUpdate:
    """An update to append; `kind` is set when it creates its document."""

    doc_id: str
    grid: str
    data: bytes
    device: str
    kind: str | None = None


@dataclass(frozen=True, slots=True)
class PullBatch:
    """Updates after a cursor; `last_seq` is the highest sequence examined."""

    updates: list[StoredUpdate]
    last_seq: int
    more: bool


@dataclass(frozen=True, slots=True)
class Snapshot:
    """One update to store in place of exactly the rows `seqs` of a document."""

    doc_id: str
    seqs: Sequence[int]
    data: bytes


class UpdateStore(Protocol):
    async def heads(self, doc_ids: Sequence[str]) -> dict[str, DocHead]:
        """The heads of those documents that exist."""
        ...

    async def updates(self, doc_id: str, after_seq: int = 0) -> list[StoredUpdate]:
        """A document's updates after `after_seq`, in sequence order."""
        ...

    async def append(self, updates: Sequence[NewUpdate]) -> dict[str, tuple[int, int]]:
        """Store all updates in one transaction, durable on return.

        Sequence numbers are allocated in commit order, so a reader that has seen
        sequence n has seen every committed update below n. Returns, per document,
        its head sequence just before and just after this append.
        """
        ...

    async def since(
        self,
        cursors: Mapping[str, int],
        exclude_device: str | None,
        max_bytes: int,
        max_rows: int,
    ) -> PullBatch:
        """Updates of the given grids after each grid's cursor, in sequence order.

        Rows written by `exclude_device` are examined (they move `last_seq`) but not
        returned, so a device is never sent its own updates back.
        """
        ...

    async def replace_with_snapshot(
        self, doc_id: str, seqs: Sequence[int], snapshot: bytes
    ) -> bool:
        """Replace exactly those rows by one snapshot row at the highest of `seqs`.

        False (and nothing changed) if the rows are no longer all there.
        """
        ...

    async def updates_of(self, doc_ids: Sequence[str]) -> dict[str, list[StoredUpdate]]:
        """Several documents' updates, each in sequence order (one read, not one each)."""
        ...

    async def replace_with_snapshots(self, snapshots: Sequence[Snapshot]) -> set[str]:
        """`replace_with_snapshot` for several documents at once; returns the documents
        replaced (the others' rows changed since they were read: left as they are)."""
        ...
