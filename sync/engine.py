"""Push, pull, read and compact: the one write path every transport goes through."""

import secrets
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

from pycrdt import Doc, get_update

from sync.cache import DocCache, Loaded
from sync.cursor import decode_cursor, encode_cursor
from sync.document import Unreadable, check_type_depth, rebuild, replay
from sync.errors import Reason, Refused, StoreUnavailable
from sync.group_commit import GroupCommit
from sync.guard import Guard
from sync.layout import record_kind_and_grid, to_plain
from sync.limits import Limits
from sync.ports import DocHead, NewUpdate, StoredUpdate, UpdateStore
from sync.scope import Scope
from sync.shape import Shape
from sync.updates import Applied, apply_checked, check_update, decode_state_vector

Status = Literal["accepted", "duplicate", "refused"]


@dataclass(frozen=True, slots=True)
class PushItem:
    doc_id: str
    update: bytes


@dataclass(frozen=True, slots=True)
class PushOutcome:
    doc_id: str
    status: Status
    reason: Reason | None = None
    detail: str | None = None


@dataclass(frozen=True, slots=True)
class PushReport:
    outcomes: list[PushOutcome]
    # Documents whose log passed the compaction bound with this push.
    to_compact: list[str] = field(default_factory=list)
    # The merged content of every document not refused, and the sequence it is as of.
    contents: dict[str, tuple[int, dict[str, Any]]] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class PullPage:
    updates: list[StoredUpdate]
    cursor: str
    more: bool
    # Grids the cursor held that the caller may no longer read.
    dropped_grids: list[str]


def check_doc_id(doc_id: str) -> None:
    """A document id is a UUID in its one canonical spelling (lower case, with hyphens):
    other spellings of one UUID must never name two documents."""
    try:
        canonical = str(uuid.UUID(doc_id))
    except (ValueError, TypeError, AttributeError) as error:
        raise Refused(Reason.MALFORMED_DOCUMENT_ID, "a document id is a UUID") from error
    if canonical != doc_id:
        raise Refused(
            Reason.MALFORMED_DOCUMENT_ID,
            f"a document id is a UUID in lower case with hyphens: {canonical}",
        )


def _fresh_client_id(doc: Doc[Any]) -> int:
    """A Yjs client id the document has never seen (JS clients use 32 bits)."""
    seen = decode_state_vector(doc.get_state())
    while (client := secrets.randbits(32)) in seen or client == 0:
        pass
    return client


class _Batch:
    """The state of one push while it is being checked, before it is committed."""

    def __init__(self, heads: dict[str, DocHead]) -> None:
        self.heads = heads
        self.grids = {doc_id: head.grid for doc_id, head in heads.items()}
        self.docs: dict[str, Loaded] = {}
        self.staged: list[NewUpdate] = []

    def staged_for(self, doc_id: str) -> list[bytes]:
        return [update.data for update in self.staged if update.doc_id == doc_id]


class SyncEngine:
    def __init__(self, store: UpdateStore, limits: Limits | None = None) -> None:
        self.store = store
        self.limits = limits or Limits()
        self.cache = DocCache(self.limits.doc_cache_bytes, self.limits.doc_cost_factor)
        self._log = GroupCommit(store.append)

    async def push(self, scope: Scope, items: Sequence[PushItem]) -> PushReport:
        """Check each update in order and store the good ones in one transaction."""
        outcomes: list[PushOutcome | None] = [None] * len(items)
        checked: dict[int, Shape] = {}
        for index, item in enumerate(items):
            try:
                check_doc_id(item.doc_id)
                limits = self.limits
                checked[index] = check_update(item.update, limits.max_update_bytes, limits.shape)
            except Refused as refusal:
                outcomes[index] = PushOutcome(
                    item.doc_id, "refused", refusal.reason, refusal.detail
                )
        doc_ids = sorted({items[index].doc_id for index in checked})
        async with self.cache.locked(doc_ids):
            batch = _Batch(await self.store.heads(doc_ids))
            try:
                for index, shape in checked.items():
                    outcomes[index] = await self._stage_or_refuse(scope, items[index], shape, batch)
                await self._commit(batch)
            except BaseException:
                # Cancelled or failed half-way: cached documents may hold uncommitted changes.
                for doc_id in batch.docs:
                    self.cache.evict(doc_id)
                raise
        done = [outcome for outcome in outcomes if outcome is not None]
        stored = {o.doc_id for o in done if o.status != "refused"}
        contents = {d: (batch.docs[d].seq, to_plain(batch.docs[d].doc)) for d in sorted(stored)}
        return PushReport(done, self._due_for_compaction(batch), contents)

    async def _stage_or_refuse(
        self, scope: Scope, item: PushItem, shape: Shape, batch: _Batch
    ) -> PushOutcome:
        try:
            return PushOutcome(item.doc_id, await self._stage(scope, item, shape, batch))
        except Refused as refusal:
            batch.docs[item.doc_id] = await self._rebuild(item.doc_id, batch)
            return PushOutcome(item.doc_id, "refused", refusal.reason, refusal.detail)

    async def _stage(self, scope: Scope, item: PushItem, shape: Shape, batch: _Batch) -> Status:
        doc_id = item.doc_id
        grid = batch.grids.get(doc_id)
        if grid is not None and not scope.covers(grid):
            # Out of scope looks exactly like absent: nothing leaks about other grids.
            self._refuse_as_if_absent(scope, item.update, shape)
        if doc_id not in batch.docs:
            batch.docs[doc_id] = await self._load(doc_id, batch.heads.get(doc_id))
        entry = batch.docs[doc_id]
        if entry.unreadable is not None:
            raise Unreadable(entry.unreadable)
        doc = entry.doc
        if entry.guard is None:
            entry.guard = Guard(doc)
        entry.guard.arm(deletes=bool(shape.deletes))
        applied = apply_checked(doc, item.update, shape)
        entry.guard.check(creating=grid is None)
        if shape.has_types:
            check_type_depth(doc, self.limits.shape)
        kind = None
        if grid is None:
            kind, grid = _new_record(doc, scope)
            batch.grids[doc_id] = grid
        if applied is Applied.DUPLICATE:
            return "duplicate"
        batch.staged.append(NewUpdate(doc_id, grid, item.update, scope.device, kind))
        self.cache.grow(batch.docs[doc_id], len(item.update))
        return "accepted"

    def _refuse_as_if_absent(self, scope: Scope, update: bytes, shape: Shape) -> None:
        """Refuse an update to a document outside `scope` exactly as if the document did not
        exist: checked against an empty document. The one answer an absent document would
        not give, to a valid creation in the caller's own grid, says the id is taken."""
        doc: Doc[Any] = Doc()
        apply_checked(doc, update, shape)
        if shape.has_types:
            check_type_depth(doc, self.limits.shape)
        _new_record(doc, scope)
        raise Refused(Reason.OUT_OF_SCOPE, "this document id is taken: make a new one")

    async def write_as_server(
        self, scope: Scope, doc_id: str, edit: Callable[[Doc[Any]], None]
    ) -> PushReport:
        """Edit a record like a tablet would, as the server (a coordinator's decision).

        `edit` runs in one pycrdt transaction on the document caught up with the log, under
        the document's lock, so a concurrent push or another server write is merged, never
        lost. The update goes through the same append as a push, tagged `scope.device`
        (not a tablet's), so every tablet pulls it. An `edit` that raises writes nothing;
        one that changes nothing stores nothing (the outcome is then `duplicate`).

        The edit is made on a copy under a Yjs client id the document has never seen, so
        no deletion stored ahead of time (by an older server, for clocks the server would
        write next) can delete what the server writes.
        """
        check_doc_id(doc_id)
        async with self.cache.locked([doc_id]):
            batch = _Batch(await self.store.heads([doc_id]))
            head = batch.heads.get(doc_id)
            # Out of scope looks exactly like absent: nothing leaks about other grids.
            if head is None or not scope.covers(head.grid):
                raise Refused(Reason.UNKNOWN_DOCUMENT, "no such document in your scope")
            entry = batch.docs[doc_id] = await self._load(doc_id, head)
            if entry.unreadable is not None:
                raise Unreadable(entry.unreadable)
            shape = self.limits.shape
            try:
                copy: Doc[Any] = Doc(client_id=_fresh_client_id(entry.doc))
                copy.apply_update(entry.doc.get_update())
                before = copy.get_state()
                with copy.transaction(origin="server"):
                    edit(copy)
                update: bytes = copy.get_update(before)
                status: Status = "duplicate"
                if copy.get_state() != before:
                    # The server's own writes keep within the limits every reader relies on.
                    if check_update(update, self.limits.max_update_bytes, shape).has_types:
                        check_type_depth(copy, shape)
                    entry.doc.apply_update(update)
                    batch.staged.append(NewUpdate(doc_id, head.grid, update, scope.device))
                    self.cache.grow(entry, len(update))
                    status = "accepted"
                await self._commit(batch)
            except BaseException:
                self.cache.evict(doc_id)  # the edit may be half-applied, or not stored
                raise
        content = {doc_id: (entry.seq, to_plain(entry.doc))}
        return PushReport([PushOutcome(doc_id, status)], self._due_for_compaction(batch), content)

    async def create_as_server(
        self, scope: Scope, creations: Sequence[tuple[str, Callable[[Doc[Any]], None]]]
    ) -> PushReport:
        """Create record documents as the server (an import), like a tablet's first updates.

        Each `build` writes a new document's whole content (its `meta` included) in one
        pycrdt transaction; every document created is appended in **one** transaction,
        tagged `scope.device`, so every tablet of its grid pulls it. A document that
        already exists is left as it is (`duplicate`): with stable ids, creating twice
        creates once. Under the documents' locks, so a concurrent creation in this process
        waits and then sees the document. A build without a valid `meta.kind` and
        `meta.grid`, or for a grid outside `scope`, is refused and nothing of it is stored.
        """
        doc_ids = [doc_id for doc_id, _ in creations]
        for doc_id in doc_ids:
            check_doc_id(doc_id)
        if len(set(doc_ids)) != len(doc_ids):
            raise ValueError("a document is created once per batch")
        outcomes: list[PushOutcome] = []
        async with self.cache.locked(sorted(doc_ids)):
            batch = _Batch(await self.store.heads(doc_ids))
            try:
                for doc_id, build in creations:
                    outcomes.append(self._create(scope, doc_id, build, batch))
                await self._commit(batch)
            finally:
                # Not kept loaded: an import would push the documents in use out of the cache.
                for doc_id in batch.docs:
                    self.cache.evict(doc_id)
        contents = {d: (entry.seq, to_plain(entry.doc)) for d, entry in batch.docs.items()}
        return PushReport(outcomes, [], contents)

    def _create(
        self, scope: Scope, doc_id: str, build: Callable[[Doc[Any]], None], batch: _Batch
    ) -> PushOutcome:
        if doc_id in batch.heads:
            return PushOutcome(doc_id, "duplicate")
        doc: Doc[Any] = Doc()
        with doc.transaction(origin="server"):
            build(doc)
        kind_and_grid = record_kind_and_grid(doc)
        if kind_and_grid is None:
            return PushOutcome(doc_id, "refused", Reason.MISSING_META, "no valid meta.kind, grid")
        kind, grid = kind_and_grid
        if not scope.covers(grid):
            return PushOutcome(doc_id, "refused", Reason.OUT_OF_SCOPE, f"grid {grid!r}")
        update: bytes = doc.get_update()
        batch.docs[doc_id] = Loaded(doc)
        batch.grids[doc_id] = grid
        batch.staged.append(NewUpdate(doc_id, grid, update, scope.device, kind))
        return PushOutcome(doc_id, "accepted")

    async def _commit(self, batch: _Batch) -> None:
        heads: dict[str, tuple[int, int]] = {}
        if batch.staged:
            try:
                heads = await self._log.append(batch.staged)
            except Exception as error:
                raise StoreUnavailable("the update log could not be written") from error
        for doc_id, entry in batch.docs.items():
            if doc_id not in batch.grids:
                continue  # a refused creation: nothing of it exists
            seen = batch.heads[doc_id].head_seq if doc_id in batch.heads else 0
            before, after = heads.get(doc_id, (seen, seen))
            # Another process may have appended in between: catch up from `seen` next time.
            entry.seq = after if before == seen else seen
            self.cache.put(doc_id, entry)
        self.cache.trim()

    def _due_for_compaction(self, batch: _Batch) -> list[str]:
        bound = self.limits.compact_after_updates
        return sorted(
            doc_id
            for doc_id, head in batch.heads.items()
            if head.update_count + len(batch.staged_for(doc_id)) >= bound
        )

    async def _load(self, doc_id: str, head: DocHead | None) -> Loaded:
        """The cached document, caught up with the log (every stored update checked:
        one an older server stored unchecked makes the document `unreadable`)."""
        entry = self.cache.get(doc_id)
        if head is None:
            self.cache.evict(doc_id)
            return Loaded(Doc())
        if entry is None:
            entry = Loaded(Doc())
        if entry.seq < head.head_seq and entry.unreadable is None:
            rows = await self.store.updates(doc_id, after_seq=entry.seq)
            try:
                replay(entry.doc, [row.data for row in rows], self.limits.shape)
            except Unreadable as unreadable:
                entry.unreadable = unreadable.detail
            self.cache.grow(entry, sum(len(row.data) for row in rows))
            entry.seq = rows[-1].seq if rows else entry.seq
        return entry

    async def _rebuild(self, doc_id: str, batch: _Batch) -> Loaded:
        """The document without a refused update: the log plus what this push staged
        (each checked when it was staged)."""
        self.cache.evict(doc_id)
        entry = await self._load(doc_id, batch.heads.get(doc_id))
        for data in batch.staged_for(doc_id):
            entry.doc.apply_update(data)
        return entry

    async def pull(self, scope: Scope, cursor: str | None, max_bytes: int | None) -> PullPage:
        """The next page of updates in the caller's grids, the caller's own left out.

        A grid that joined the scope since the cursor was made is pulled first and whole,
        the caller's own updates included: the tablet may have dropped its copies of them
        when the grid left its scope before. The cursor remembers a grid being joined.
        """
        seen, joining = decode_cursor(cursor)
        cursors = {grid: seen.get(grid, 0) for grid in sorted(scope.grids)}
        budget = min(max_bytes or self.limits.pull_max_bytes, self.limits.pull_max_bytes)
        dropped = sorted(set(seen) - scope.grids)
        if seen:  # a first pull sends everything but the device's own, just pushed
            joining = (joining | (scope.grids - set(seen))) & scope.grids
        if joining:
            batch = await self.store.since(
                {grid: cursors[grid] for grid in joining}, None, budget, self.limits.pull_max_rows
            )
            advanced = {**cursors, **{grid: max(cursors[grid], batch.last_seq) for grid in joining}}
            still = joining if batch.more else frozenset()
            # More, always: the other grids' page comes once the joining ones are in.
            return PullPage(batch.updates, encode_cursor(advanced, still), True, dropped)
        batch = await self.store.since(cursors, scope.device, budget, self.limits.pull_max_rows)
        advanced = {grid: max(seq, batch.last_seq) for grid, seq in cursors.items()}
        return PullPage(batch.updates, encode_cursor(advanced), batch.more, dropped)

    async def state_vector(self, scope: Scope, doc_id: str) -> bytes:
        async with self.cache.locked([doc_id]):
            state: bytes = (await self._readable(scope, doc_id)).doc.get_state()
            return state

    async def diff(self, scope: Scope, doc_id: str, state_vector: bytes | None) -> bytes:
        """What a replica at `state_vector` lacks (the whole document without one)."""
        async with self.cache.locked([doc_id]):
            doc = (await self._readable(scope, doc_id)).doc
            if state_vector is None:
                whole: bytes = doc.get_update()
                return whole
            try:
                missing: bytes = doc.get_update(state_vector)
            except ValueError as error:
                raise Refused(Reason.MALFORMED_STATE_VECTOR, "not a Yjs state vector") from error
            return missing

    async def _readable(self, scope: Scope, doc_id: str) -> Loaded:
        check_doc_id(doc_id)
        head = (await self.store.heads([doc_id])).get(doc_id)
        # Out of scope looks exactly like absent: nothing leaks about other grids.
        if head is None or not scope.covers(head.grid):
            raise Refused(Reason.UNKNOWN_DOCUMENT, "no such document in your scope")
        entry = await self._load(doc_id, head)
        self.cache.put(doc_id, entry)
        self.cache.trim()
        if entry.unreadable is not None:
            raise Unreadable(entry.unreadable)
        return entry

    async def compact(self, doc_id: str) -> bool:
        """Replace a document's log by one snapshot; False when there was nothing to do."""
        async with self.cache.locked([doc_id]):
            rows = await self.store.updates(doc_id)
            if len(rows) < 2:
                return False
            snapshot = squash([row.data for row in rows], self.limits)
            if snapshot is None:
                return False
            return await self.store.replace_with_snapshot(
                doc_id, [row.seq for row in rows], snapshot
            )


def squash(updates: Sequence[bytes], limits: Limits) -> bytes | None:
    """One update holding all of `updates` (a loaded `Doc`'s `get_update()`, not
    `merge_updates`: that one is slow and keeps overwritten values); None when one of them
    would not integrate (missing dependencies) or the document is unreadable, so that the
    caller keeps the rows as they are.
    """
    try:
        doc = rebuild(updates, limits.shape)
    except Unreadable:
        return None
    state = doc.get_state()
    if any(get_update(update, state)[0] != 0 for update in updates):
        return None
    snapshot: bytes = doc.get_update()
    return snapshot


def _new_record(doc: Doc[Any], scope: Scope) -> tuple[str, str]:
    """`(kind, grid)` of a document a tablet creates, refused unless its first update sets
    a valid `meta` in the tablet's scope."""
    kind_and_grid = record_kind_and_grid(doc)
    if kind_and_grid is None:
        raise Refused(
            Reason.MISSING_META,
            "a new document's first update must set meta.kind "
            "(household, visit or case) and meta.grid",
        )
    if not scope.covers(kind_and_grid[1]):
        raise Refused(Reason.OUT_OF_SCOPE, f"grid {kind_and_grid[1]!r} is outside your scope")
    return kind_and_grid
