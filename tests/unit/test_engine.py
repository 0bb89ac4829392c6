"""The sync core against the in-memory store: what a tablet would notice."""

import uuid

import pytest
from pycrdt import Doc, Map

from sync import Limits, PushItem, Reason, Scope, SyncEngine
from sync.cache import estimate
from sync.layout import to_plain
from sync.memory import MemoryStore

from .records import add_note, edit, new_record

ALICE = Scope(device="alice", grids=frozenset({"G1"}))
BOB = Scope(device="bob", grids=frozenset({"G1"}))
CAROL = Scope(device="carol", grids=frozenset({"G2"}))


@pytest.fixture
def engine() -> SyncEngine:
    return SyncEngine(MemoryStore())


async def refusal_of(engine: SyncEngine, scope: Scope, doc_id: str, update: bytes) -> str | None:
    outcome = (await engine.push(scope, [PushItem(doc_id, update)])).outcomes[0]
    return outcome.reason


async def test_push_then_pull_reaches_the_other_tablet_but_not_the_writer(
    engine: SyncEngine,
) -> None:
    doc_id, doc, first = new_record(purpose="关爱探访")
    report = await engine.push(ALICE, [PushItem(doc_id, first)])
    assert [o.status for o in report.outcomes] == ["accepted"]

    own = await engine.pull(ALICE, None, None)
    assert own.updates == []
    other = await engine.pull(BOB, None, None)
    replica = Doc()
    for update in other.updates:
        replica.apply_update(update.data)
    assert to_plain(replica) == to_plain(doc)
    assert (await engine.pull(BOB, other.cursor, None)).updates == []


async def test_a_repeated_push_is_a_duplicate_and_stores_nothing(engine: SyncEngine) -> None:
    doc_id, _, first = new_record()
    await engine.push(ALICE, [PushItem(doc_id, first)])
    again = await engine.push(ALICE, [PushItem(doc_id, first)])
    assert again.outcomes[0].status == "duplicate"
    assert len((await engine.pull(BOB, None, None)).updates) == 1


@pytest.mark.parametrize(
    ("update", "reason"),
    [
        (b"", Reason.EMPTY_UPDATE),
        (b"\x00\x00", Reason.EMPTY_UPDATE),
        (b"\x00\x00trailing garbage", Reason.EMPTY_UPDATE),
        (b"\xff\xfe garbage", Reason.MALFORMED_UPDATE),
    ],
)
async def test_bad_bytes_are_refused(engine: SyncEngine, update: bytes, reason: Reason) -> None:
    doc_id, _, _ = new_record()
    assert await refusal_of(engine, ALICE, doc_id, update) == reason
    assert (await engine.pull(BOB, None, None)).updates == []


async def test_truncated_and_oversized_updates_are_refused() -> None:
    engine = SyncEngine(MemoryStore(), Limits(max_update_bytes=200))
    doc_id, _, first = new_record(findings="字" * 300)
    assert await refusal_of(engine, ALICE, doc_id, first) == Reason.UPDATE_TOO_LARGE
    small_id, _, small = new_record()
    assert await refusal_of(engine, ALICE, small_id, small[:-3]) == Reason.MALFORMED_UPDATE


async def test_an_update_with_missing_dependencies_is_refused_then_the_whole_doc_works(
    engine: SyncEngine,
) -> None:
    doc_id, doc, first = new_record()
    await engine.push(ALICE, [PushItem(doc_id, first)])
    edit(doc, "fields", "a", 1)  # never sent
    second = edit(doc, "fields", "a", 2)
    assert await refusal_of(engine, ALICE, doc_id, second) == Reason.MISSING_DEPENDENCIES
    assert await refusal_of(engine, ALICE, doc_id, doc.get_update()) is None
    replica = Doc()
    replica.apply_update(await engine.diff(BOB, doc_id, None))
    assert replica.get("fields", type=Map)["a"] == 2


async def test_a_new_document_needs_meta_kind_and_grid(engine: SyncEngine) -> None:
    doc = Doc()
    doc.get("fields", type=Map)["a"] = "no meta"
    doc_id, _, _ = new_record()
    assert await refusal_of(engine, ALICE, doc_id, doc.get_update()) == Reason.MISSING_META
    bad_kind_id, _, bad_kind = new_record(kind="party")
    assert await refusal_of(engine, ALICE, bad_kind_id, bad_kind) == Reason.MISSING_META


async def test_scopes_are_enforced_on_push_pull_and_read(engine: SyncEngine) -> None:
    doc_id, doc, first = new_record(grid="G1")
    assert await refusal_of(engine, CAROL, doc_id, first) == Reason.OUT_OF_SCOPE
    await engine.push(ALICE, [PushItem(doc_id, first)])
    # Out of scope looks exactly like absent, on writes too.
    note = add_note(doc, "x")
    absent = await refusal_of(engine, CAROL, str(uuid.uuid4()), note)
    assert await refusal_of(engine, CAROL, doc_id, note) == absent == Reason.MISSING_DEPENDENCIES
    carols_own = new_record(grid="G2")[2]
    assert await refusal_of(engine, CAROL, doc_id, carols_own) == Reason.OUT_OF_SCOPE
    assert (await engine.pull(CAROL, None, None)).updates == []
    with pytest.raises(Exception, match="unknown_document"):
        await engine.state_vector(CAROL, doc_id)


async def test_tablets_may_not_write_review_nor_change_meta(engine: SyncEngine) -> None:
    doc_id, doc, first = new_record()
    await engine.push(ALICE, [PushItem(doc_id, first)])
    review = edit(doc, "review", "state", "approved")
    assert await refusal_of(engine, ALICE, doc_id, review) == Reason.SERVER_OWNED_ROOT
    fresh_id, fresh, fresh_first = new_record()
    await engine.push(ALICE, [PushItem(fresh_id, fresh_first)])
    assert await refusal_of(engine, ALICE, fresh_id, edit(fresh, "meta", "grid", "G9")) == (
        Reason.SERVER_OWNED_ROOT
    )
    # The refused change did not stick on the server.
    replica = Doc()
    replica.apply_update(await engine.diff(BOB, fresh_id, None))
    assert replica.get("meta", type=Map)["grid"] == "G1"


async def test_a_refused_update_in_a_batch_does_not_block_the_others(engine: SyncEngine) -> None:
    doc_id, doc, first = new_record()
    note = add_note(doc, "上门调解")
    other_id, _, other = new_record(grid="G2")
    report = await engine.push(
        ALICE, [PushItem(doc_id, first), PushItem(other_id, other), PushItem(doc_id, note)]
    )
    assert [o.status for o in report.outcomes] == ["accepted", "refused", "accepted"]
    replica = Doc()
    replica.apply_update(await engine.diff(BOB, doc_id, None))
    assert to_plain(replica) == to_plain(doc)


async def test_pull_pages_by_size_and_never_repeats_or_skips(engine: SyncEngine) -> None:
    engine = SyncEngine(MemoryStore(), Limits(pull_max_bytes=2000))
    pushed = {}
    for _ in range(30):
        doc_id, doc, first = new_record(findings="很长的记录" * 40)
        pushed[doc_id] = doc
        await engine.push(ALICE, [PushItem(doc_id, first)])
    seen: list[int] = []
    cursor, pages = None, 0
    while True:
        page = await engine.pull(BOB, cursor, None)
        seen += [u.seq for u in page.updates]
        cursor, pages = page.cursor, pages + 1
        if not page.more:
            break
    assert pages > 1
    assert seen == sorted(set(seen)) and len(seen) == 30


async def test_compaction_keeps_content_and_old_cursors_converge(engine: SyncEngine) -> None:
    doc_id, doc, first = new_record()
    await engine.push(ALICE, [PushItem(doc_id, first)])
    early = await engine.pull(BOB, None, None)
    for index in range(5):
        await engine.push(ALICE, [PushItem(doc_id, add_note(doc, f"note {index}"))])
    assert await engine.compact(doc_id)
    assert not await engine.compact(doc_id)
    replica = Doc()
    for update in early.updates + (await engine.pull(BOB, early.cursor, None)).updates:
        replica.apply_update(update.data)
    assert to_plain(replica) == to_plain(doc)


async def test_dropped_grids_are_reported() -> None:
    engine = SyncEngine(MemoryStore())
    wide = Scope(device="d", grids=frozenset({"G1", "G2"}))
    page = await engine.pull(wide, None, None)
    narrowed = await engine.pull(Scope(device="d", grids=frozenset({"G1"})), page.cursor, None)
    assert narrowed.dropped_grids == ["G2"]


async def test_a_cursor_not_from_the_server_is_refused(engine: SyncEngine) -> None:
    with pytest.raises(Exception, match="malformed_cursor"):
        await engine.pull(ALICE, "not a cursor!", None)


async def _pull_all(engine: SyncEngine, scope: Scope, cursor: str | None) -> tuple[list[str], str]:
    docs: list[str] = []
    while True:
        page = await engine.pull(scope, cursor, None)
        docs += [u.doc_id for u in page.updates]
        cursor = page.cursor
        if not page.more:
            return docs, cursor


async def test_a_regained_grid_brings_back_the_devices_own_documents() -> None:
    """The tablet dropped its copies when the grid left its scope: it needs them again."""
    engine = SyncEngine(MemoryStore(), Limits(pull_max_bytes=2000))
    both = Scope(device="d", grids=frozenset({"G1", "G2"}))
    only_g1 = Scope(device="d", grids=frozenset({"G1"}))
    own = []
    for _ in range(12):  # several pages' worth, so joining spans pages
        doc_id, _, first = new_record(grid="G2", findings="很长的记录" * 40)
        await engine.push(both, [PushItem(doc_id, first)])
        own.append(doc_id)
    pulled, cursor = await _pull_all(engine, both, None)
    assert pulled == []  # never echoed while the grid stays
    narrowed = await engine.pull(only_g1, cursor, None)
    assert narrowed.dropped_grids == ["G2"]
    regained, cursor = await _pull_all(engine, both, narrowed.cursor)
    assert regained == own
    doc_id, _, first = new_record(grid="G2")
    await engine.push(both, [PushItem(doc_id, first)])
    assert (await _pull_all(engine, both, cursor))[0] == []  # and no echo afterwards


async def test_the_cache_counts_each_loaded_document_once(engine: SyncEngine) -> None:
    """The cache's memory estimate is what its documents cost, however they were loaded:
    counted twice, it would unload documents long before its budget is reached."""
    records = [new_record() for _ in range(5)]
    await engine.push(ALICE, [PushItem(doc_id, first) for doc_id, _, first in records])
    for doc_id, doc, _ in records[:2]:
        engine.cache.evict(doc_id)  # loaded again from the log by the next write
        await engine.push(BOB, [PushItem(doc_id, edit(doc, "fields", "findings", "邻居反映漏水"))])
    for doc_id, _, _ in records:
        await engine.state_vector(ALICE, doc_id)
    cached = [engine.cache.get(doc_id) for doc_id, _, _ in records]
    assert all(entry is not None for entry in cached)
    assert engine.cache.total == sum(estimate(entry) for entry in cached if entry is not None) > 0
