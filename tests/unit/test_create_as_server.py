"""`SyncEngine.create_as_server`: documents the server creates (a households import) reach
every tablet of their grid, in one append, once."""

import uuid
from typing import Any

from pycrdt import Doc, Map

from sync import PushItem, Reason, Scope, SyncEngine
from sync.layout import to_plain
from sync.memory import MemoryStore

SERVER = Scope(device="server", grids=frozenset({"G1", "G2"}))
TABLET = Scope(device="tablet", grids=frozenset({"G1"}))


class CountingStore(MemoryStore):
    def __init__(self) -> None:
        super().__init__()
        self.appends = 0

    async def append(self, updates: Any) -> dict[str, tuple[int, int]]:
        self.appends += 1
        return await super().append(updates)


def household(grid: str, room: str) -> Any:
    def build(doc: Doc[Any]) -> None:
        doc.get("meta", type=Map).update({"kind": "household", "grid": grid, "schema": 1})
        doc.get("fields", type=Map)["room"] = room

    return build


def ids(count: int) -> list[str]:
    return [str(uuid.uuid4()) for _ in range(count)]


async def test_created_documents_reach_the_tablets_of_their_grid_in_one_append() -> None:
    store = CountingStore()
    engine = SyncEngine(store)
    g1, g2 = ids(2)
    report = await engine.create_as_server(
        SERVER, [(g1, household("G1", "301")), (g2, household("G2", "101"))]
    )
    assert [o.status for o in report.outcomes] == ["accepted", "accepted"]
    assert store.appends == 1
    assert report.contents[g1][1]["fields"] == {"room": "301"}

    page = await engine.pull(TABLET, None, None)
    assert {update.doc_id for update in page.updates} == {g1}
    replica = Doc()
    for update in page.updates:
        replica.apply_update(update.data)
    assert to_plain(replica)["meta"]["grid"] == "G1"


async def test_creating_again_leaves_the_document_as_it_is() -> None:
    engine = SyncEngine(MemoryStore())
    (doc_id,) = ids(1)
    await engine.create_as_server(SERVER, [(doc_id, household("G1", "301"))])
    page = await engine.pull(TABLET, None, None)
    # A tablet edits it; an import of the same row again must not undo or duplicate that.
    replica = Doc()
    for update in page.updates:
        replica.apply_update(update.data)
    before = replica.get_state()
    replica.get("fields", type=Map)["room"] = "302"
    await engine.push(TABLET, [PushItem(doc_id, replica.get_update(before))])

    again = await engine.create_as_server(SERVER, [(doc_id, household("G1", "301"))])
    assert [o.status for o in again.outcomes] == ["duplicate"]
    assert again.contents == {}
    assert (await engine.pull(TABLET, page.cursor, None)).updates == []
    merged = Doc()
    merged.apply_update(await engine.diff(SERVER, doc_id, None))
    assert to_plain(merged)["fields"] == {"room": "302"}


async def test_a_bad_build_or_a_grid_outside_the_scope_stores_nothing_of_it() -> None:
    engine = SyncEngine(MemoryStore())
    good, outside, no_meta = ids(3)

    def empty(doc: Doc[Any]) -> None:
        doc.get("fields", type=Map)["room"] = "1"

    report = await engine.create_as_server(
        SERVER,
        [(good, household("G1", "1")), (outside, household("G9", "1")), (no_meta, empty)],
    )
    assert [(o.status, o.reason) for o in report.outcomes] == [
        ("accepted", None),
        ("refused", Reason.OUT_OF_SCOPE),
        ("refused", Reason.MISSING_META),
    ]
    everything = Scope(device="auditor", grids=frozenset({"G1", "G2", "G9"}))
    pulled = await engine.pull(everything, None, None)
    assert {update.doc_id for update in pulled.updates} == {good}
