"""One contract for every `UpdateStore`: the in-memory reference, SQLite and PostgreSQL."""

import asyncio
import random
import uuid
from collections.abc import AsyncIterator, Callable, Sequence
from datetime import timedelta

import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from server.db.engine import make_engine
from server.db.tables import documents
from server.db.update_store import SqlUpdateStore
from sync.memory import MemoryStore
from sync.ports import DocHead, NewUpdate, PullBatch, Snapshot, StoredUpdate, UpdateStore

A, B, C = "grid-a", "grid-b", "grid-c"
ME, OTHER = "device-me", "device-other"
ALL = 1 << 30


def new_doc() -> str:
    return str(uuid.uuid4())


def new(
    doc_id: str, data: bytes = b"u", *, grid: str = A, device: str = OTHER, kind: str | None = None
) -> NewUpdate:
    return NewUpdate(doc_id, grid, data, device, kind)


@pytest.fixture(params=["memory", "sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def backend_url(
    request: pytest.FixtureRequest, make_database_url: Callable[[str], str]
) -> str | None:
    kind: str = request.param
    return None if kind == "memory" else make_database_url(kind)


@pytest.fixture
async def engine(backend_url: str | None) -> AsyncIterator[AsyncEngine | None]:
    if backend_url is None:
        yield None
        return
    engine = make_engine(backend_url)
    yield engine
    await engine.dispose()


@pytest.fixture
def store(engine: AsyncEngine | None) -> UpdateStore:
    # Tiny pull chunks, so that every pull test also crosses chunk boundaries.
    return MemoryStore() if engine is None else SqlUpdateStore(engine, chunk_rows=3)


async def seqs_of(store: UpdateStore, doc_ids: Sequence[str]) -> list[int]:
    return sorted([row.seq for doc_id in doc_ids for row in await store.updates(doc_id)])


# Append, heads, updates


async def test_append_stores_rows_in_order_and_moves_heads(store: UpdateStore) -> None:
    one, two = new_doc(), new_doc()
    result = await store.append(
        [new(one, b"1", kind="visit"), new(one, b"2"), new(two, b"3", grid=B, kind="case")]
    )
    assert result == {one: (0, 2), two: (0, 3)}
    assert await store.heads([one, two, new_doc()]) == {
        one: DocHead(one, "visit", A, 2, 2),
        two: DocHead(two, "case", B, 3, 1),
    }
    assert await store.updates(one) == [
        StoredUpdate(1, one, A, b"1", OTHER),
        StoredUpdate(2, one, A, b"2", OTHER),
    ]
    assert await store.updates(one, after_seq=1) == [StoredUpdate(2, one, A, b"2", OTHER)]
    assert await store.updates(new_doc()) == []


async def test_append_reports_each_head_before_and_after(store: UpdateStore) -> None:
    old, fresh = new_doc(), new_doc()
    await store.append([new(old, kind="visit"), new(old)])
    result = await store.append([new(fresh, kind="case"), new(old), new(fresh), new(old)])
    assert result == {fresh: (0, 5), old: (2, 6)}
    assert (await store.heads([old]))[old] == DocHead(old, "visit", A, 6, 4)


async def test_nothing_to_append_changes_nothing(store: UpdateStore) -> None:
    assert await store.append([]) == {}
    doc_id = new_doc()
    assert await store.append([new(doc_id, kind="visit")]) == {doc_id: (0, 1)}


async def test_racing_creators_of_one_document_both_succeed(store: UpdateStore) -> None:
    doc_ids = [new_doc() for _ in range(5)]
    results = await asyncio.gather(
        *(store.append([new(d, b"x", grid=A, device=ME, kind="visit")]) for d in doc_ids),
        *(store.append([new(d, b"y", grid=B, device=OTHER, kind="case")]) for d in doc_ids),
    )
    heads = await store.heads(doc_ids)
    for doc_id in doc_ids:
        spans = sorted(result[doc_id] for result in results if doc_id in result)
        assert spans[0][0] == 0 and spans[1][0] == spans[0][1]
        first = (await store.updates(doc_id))[0]
        kind = "visit" if first.grid == A else "case"
        assert heads[doc_id] == DocHead(doc_id, kind, first.grid, spans[1][1], 2)


# Pulls


async def test_pull_returns_the_cursor_grids_in_sequence_order(store: UpdateStore) -> None:
    doc_a, doc_b, doc_c = new_doc(), new_doc(), new_doc()
    await store.append([new(doc_a, kind="visit"), new(doc_c, grid=C, kind="visit")])
    await store.append([new(doc_b, grid=B, kind="case"), new(doc_a), new(doc_c, grid=C)])
    batch = await store.since({A: 0, B: 0}, None, ALL, 100)
    assert [(row.seq, row.doc_id) for row in batch.updates] == [(1, doc_a), (3, doc_b), (4, doc_a)]
    assert (batch.last_seq, batch.more) == (4, False)


async def test_pull_applies_each_grid_its_own_cursor(store: UpdateStore) -> None:
    doc_a, doc_b = new_doc(), new_doc()
    for _ in range(3):
        await store.append([new(doc_a, kind="visit"), new(doc_b, grid=B, kind="visit")])
    batch = await store.since({A: 3, B: 0}, None, ALL, 100)
    assert [row.seq for row in batch.updates] == [2, 4, 5, 6]
    assert batch.last_seq == 6


async def test_pull_with_no_grids_or_nothing_new_is_empty(store: UpdateStore) -> None:
    await store.append([new(new_doc(), kind="visit")])
    assert await store.since({}, ME, ALL, 100) == PullBatch([], 0, False)
    assert await store.since({A: 1, B: 0}, ME, ALL, 100) == PullBatch([], 0, False)


async def test_pull_leaves_out_own_rows_but_moves_past_them(store: UpdateStore) -> None:
    doc_id = new_doc()
    await store.append([new(doc_id, b"mine", device=ME, kind="visit"), new(doc_id, b"theirs")])
    await store.append([new(doc_id, b"mine again", device=ME)])
    batch = await store.since({A: 0}, ME, ALL, 100)
    assert batch == PullBatch([StoredUpdate(2, doc_id, A, b"theirs", OTHER)], 3, False)
    assert await store.since({A: 2}, ME, ALL, 100) == PullBatch([], 3, False)
    assert len((await store.since({A: 0}, None, ALL, 100)).updates) == 3


async def test_pull_pages_by_bytes_and_gives_at_least_one_row(store: UpdateStore) -> None:
    doc_id = new_doc()
    await store.append([new(doc_id, bytes(10), kind="visit")] + [new(doc_id, bytes(10))] * 4)
    first = await store.since({A: 0}, None, 25, 100)
    assert ([row.seq for row in first.updates], first.last_seq, first.more) == ([1, 2], 2, True)
    huge = await store.since({A: 2}, None, 5, 100)
    assert ([row.seq for row in huge.updates], huge.last_seq, huge.more) == ([3], 3, True)
    rest = await store.since({A: 3}, None, 20, 100)
    assert ([row.seq for row in rest.updates], rest.last_seq, rest.more) == ([4, 5], 5, False)


async def test_pull_pages_by_rows(store: UpdateStore) -> None:
    doc_id = new_doc()
    await store.append([new(doc_id, kind="visit")] + [new(doc_id)] * 6)
    pages = []
    cursor = 0
    while True:
        batch = await store.since({A: cursor}, None, ALL, 3)
        pages.append(([row.seq for row in batch.updates], batch.more))
        cursor = batch.last_seq
        if not batch.more:
            break
    assert pages == [([1, 2, 3], True), ([4, 5, 6], True), ([7], False)]


async def test_paging_through_a_mixed_log_yields_it_exactly_once(store: UpdateStore) -> None:
    rng = random.Random(7)
    doc_ids = [new_doc() for _ in range(6)]
    grid_of = {doc_id: rng.choice([A, B, C]) for doc_id in doc_ids}
    for doc_id in doc_ids:
        await store.append([new(doc_id, grid=grid_of[doc_id], kind="visit")])
    for _ in range(40):
        doc_id = rng.choice(doc_ids)
        data = bytes(rng.randrange(1, 30))
        await store.append(
            [new(doc_id, data, grid=grid_of[doc_id], device=rng.choice([ME, OTHER]))]
        )
    rows = [
        row for doc_id in doc_ids if grid_of[doc_id] != C for row in await store.updates(doc_id)
    ]
    expected = sorted(row.seq for row in rows if row.device != ME)
    seen: list[int] = []
    cursors = {A: 0, B: 0}
    more = True
    while more:
        batch = await store.since(cursors, ME, 40, 4)
        assert batch.updates or not batch.more
        seen += [row.seq for row in batch.updates]
        cursors = {grid: max(seq, batch.last_seq) for grid, seq in cursors.items()}
        more = batch.more
    assert seen == expected


# Compaction


async def test_snapshot_replaces_the_given_rows(store: UpdateStore) -> None:
    doc_id, other = new_doc(), new_doc()
    await store.append([new(doc_id, kind="visit"), new(doc_id), new(other, kind="visit")])
    await store.append([new(doc_id), new(doc_id)])
    assert await store.replace_with_snapshot(doc_id, [1, 2, 4], b"snapshot")
    assert await store.updates(doc_id) == [
        StoredUpdate(4, doc_id, A, b"snapshot", None),
        StoredUpdate(5, doc_id, A, b"u", OTHER),
    ]
    assert (await store.heads([doc_id]))[doc_id] == DocHead(doc_id, "visit", A, 5, 2)
    assert [row.seq for row in await store.updates(other)] == [3]


async def test_snapshot_is_refused_when_its_rows_are_not_all_there(store: UpdateStore) -> None:
    doc_id, other = new_doc(), new_doc()
    await store.append([new(doc_id, kind="visit"), new(doc_id), new(doc_id)])
    await store.append([new(other, kind="visit")])
    assert await store.replace_with_snapshot(doc_id, [1, 2], b"first")
    rows, heads = await store.updates(doc_id), await store.heads([doc_id, other])
    assert not await store.replace_with_snapshot(doc_id, [1, 2, 3], b"late")
    assert not await store.replace_with_snapshot(doc_id, [2, 3, 4], b"other's row")
    assert not await store.replace_with_snapshot(new_doc(), [4], b"no such document")
    assert not await store.replace_with_snapshot(doc_id, [], b"nothing")
    assert await store.updates(doc_id) == rows
    assert await store.heads([doc_id, other]) == heads
    assert [row.seq for row in await store.updates(other)] == [4]


async def test_racing_compactors_one_wins(store: UpdateStore) -> None:
    doc_id = new_doc()
    await store.append([new(doc_id, kind="visit")] + [new(doc_id)] * 4)
    won = await asyncio.gather(
        *(store.replace_with_snapshot(doc_id, [1, 2, 3, 4, 5], bytes([n])) for n in range(4))
    )
    assert sorted(won) == [False, False, False, True]
    assert await store.updates(doc_id) == [
        StoredUpdate(5, doc_id, A, bytes([won.index(True)]), None)
    ]
    assert (await store.heads([doc_id]))[doc_id].update_count == 1


async def test_a_puller_behind_a_compaction_gets_the_snapshot(store: UpdateStore) -> None:
    doc_id = new_doc()
    await store.append([new(doc_id, kind="visit"), new(doc_id), new(doc_id)])
    assert await store.replace_with_snapshot(doc_id, [1, 2, 3], b"snapshot")
    snapshot = StoredUpdate(3, doc_id, A, b"snapshot", None)
    # Even the device that wrote every row gets the snapshot: it may hold more than its rows.
    assert await store.since({A: 2}, OTHER, ALL, 100) == PullBatch([snapshot], 3, False)
    assert await store.since({A: 0}, ME, ALL, 100) == PullBatch([snapshot], 3, False)
    assert await store.since({A: 3}, ME, ALL, 100) == PullBatch([], 0, False)


async def test_several_documents_are_compacted_at_once_and_changed_ones_kept(
    store: UpdateStore,
) -> None:
    one, two, three = new_doc(), new_doc(), new_doc()
    await store.append(
        [
            new(d, kind="visit") if n % 2 == 0 else new(d)
            for n, d in enumerate([one, one, two, two, three, three])
        ]
    )
    logs = await store.updates_of([one, two, three, unknown := new_doc()])
    assert [[row.seq for row in logs[d]] for d in (one, two, three, unknown)] == [
        [1, 2],
        [3, 4],
        [5, 6],
        [],
    ]
    await store.append([new(two)])  # appended to after it was read: the new row stays
    assert await store.replace_with_snapshot(three, [5, 6], b"the push path's")  # meanwhile
    snapshots = [
        Snapshot(d, [row.seq for row in logs[d]], name)
        for d, name in ((one, b"s1"), (two, b"s2"), (three, b"s3"))
    ]
    assert await store.replace_with_snapshots(snapshots) == {one, two}
    assert await store.updates_of([one, two, three]) == {
        one: [StoredUpdate(2, one, A, b"s1", None)],
        two: [StoredUpdate(4, two, A, b"s2", None), StoredUpdate(7, two, A, b"u", OTHER)],
        three: [StoredUpdate(6, three, A, b"the push path's", None)],
    }
    heads = await store.heads([one, two, three])
    assert [heads[d].update_count for d in (one, two, three)] == [1, 2, 1]
    assert [heads[d].head_seq for d in (one, two, three)] == [2, 7, 6]
    assert await store.replace_with_snapshots([]) == set()


# Concurrency


async def test_concurrent_appends_take_gap_free_runs_of_seqs(store: UpdateStore) -> None:
    sizes = [1 + n % 4 for n in range(30)]
    doc_ids = [new_doc() for _ in sizes]
    results = await asyncio.gather(
        *(
            store.append([new(doc_id, kind="visit")] + [new(doc_id)] * (size - 1))
            for doc_id, size in zip(doc_ids, sizes, strict=True)
        )
    )
    for doc_id, size, result in zip(doc_ids, sizes, results, strict=True):
        top = result[doc_id][1]
        assert result == {doc_id: (0, top)}
        assert [row.seq for row in await store.updates(doc_id)] == list(
            range(top - size + 1, top + 1)
        )
    assert await seqs_of(store, doc_ids) == list(range(1, sum(sizes) + 1))


class SlowCommits(SqlUpdateStore):
    """Holds some appends open after they took their seqs, as a busy server would."""

    async def _append(
        self, connection: AsyncConnection, new: Sequence[NewUpdate]
    ) -> dict[str, tuple[int, int]]:
        heads = await super()._append(connection, new)
        if random.random() < 0.5:
            await asyncio.sleep(random.uniform(0.001, 0.02))
        return heads


async def test_a_puller_never_skips_a_committed_row(
    engine: AsyncEngine | None, store: UpdateStore
) -> None:
    writer = store if engine is None else SlowCommits(engine)
    doc_ids = [new_doc() for _ in range(8)]
    writers_done = asyncio.Event()
    pulled: list[int] = []

    async def write(doc_id: str) -> None:
        await writer.append([new(doc_id, kind="visit")])
        for round_ in range(12):
            await writer.append([new(doc_id)] * (1 + round_ % 3))

    async def pull() -> None:
        cursor = 0
        while True:
            last_round = writers_done.is_set()
            batch = await store.since({A: cursor}, None, ALL, 5)
            assert all(row.seq > cursor for row in batch.updates)
            pulled.extend(row.seq for row in batch.updates)
            cursor = max(cursor, batch.last_seq)
            if last_round and not batch.more:
                return
            await asyncio.sleep(0)

    puller = asyncio.create_task(pull())
    await asyncio.gather(*(write(doc_id) for doc_id in doc_ids))
    writers_done.set()
    await puller
    assert pulled == await seqs_of(store, doc_ids)


async def test_documents_row_keeps_size_and_aware_times(database_url: str) -> None:
    engine = make_engine(database_url)
    try:
        store = SqlUpdateStore(engine)
        doc_id = new_doc()
        await store.append([new(doc_id, bytes(10), kind="visit"), new(doc_id, bytes(5))])
        await store.append([new(doc_id, bytes(7))])
        assert await store.replace_with_snapshot(doc_id, [1, 2], bytes(3))
        query = select(documents.c.byte_size, documents.c.created_by, documents.c.updated_at)
        async with engine.connect() as connection:
            size, created_by, updated_at = (await connection.execute(query)).one()
    finally:
        await engine.dispose()
    assert (size, created_by) == (10, OTHER)
    assert updated_at.utcoffset() == timedelta(0)
