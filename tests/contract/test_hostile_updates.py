"""Hostile updates, written byte by byte, against the sync core on every store (memory,
SQLite, PostgreSQL): each is refused with its reason, stores nothing, and leaves the record
and the office's decisions as they were."""

import uuid
from collections.abc import AsyncIterator, Callable

import pytest
from pycrdt import Array, Doc, Map

from server.db.engine import make_engine
from server.db.update_store import SqlUpdateStore
from sync import Limits, PushItem, Reason, Scope, SyncEngine
from sync.layout import to_plain
from sync.memory import MemoryStore
from sync.ports import NewUpdate
from sync.updates import decode_state_vector

from .. import yjs_bytes as y
from ..unit.records import add_note, edit, new_record

ALICE = Scope(device="alice", grids=frozenset({"G1"}))
OFFICE = Scope(device="server", grids=frozenset({"G1"}))
CLIENT = 4242  # the attacker's Yjs client id


@pytest.fixture(params=["memory", "sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def backend_url(
    request: pytest.FixtureRequest, make_database_url: Callable[[str], str]
) -> str | None:
    kind: str = request.param
    return None if kind == "memory" else make_database_url(kind)


@pytest.fixture
async def engine(backend_url: str | None) -> AsyncIterator[SyncEngine]:
    if backend_url is None:
        yield SyncEngine(MemoryStore())
        return
    database = make_engine(backend_url)
    yield SyncEngine(SqlUpdateStore(database))
    await database.dispose()


async def push(engine: SyncEngine, doc_id: str, update: bytes) -> tuple[str, str | None]:
    outcome = (await engine.push(ALICE, [PushItem(doc_id, update)])).outcomes[0]
    return outcome.status, outcome.reason


async def stored(engine: SyncEngine) -> int:
    return len((await engine.pull(Scope("nobody", frozenset({"G1"})), None, None)).updates)


async def created(engine: SyncEngine) -> tuple[str, Doc]:
    doc_id, doc, first = new_record()
    assert await push(engine, doc_id, first) == ("accepted", None)
    return doc_id, doc


def creation_with(*items: bytes, client: int = CLIENT) -> bytes:
    """A new record's first update (meta) followed by `items` of the same client."""
    meta = [
        y.item_in_root("meta", y.any_content(y.any_string("visit")), "kind"),
        y.item_in_root("meta", y.any_content(y.any_string("G1")), "grid"),
    ]
    return y.update({client: (0, meta + list(items))})


@pytest.mark.parametrize(
    ("value", "reason"),
    [
        (y.nested_arrays(50_000), Reason.TOO_DEEP),  # killed the server with SIGSEGV
        (y.nested_objects(30_000), Reason.TOO_DEEP),
        (y.nested_arrays(1_000), Reason.TOO_DEEP),  # poisoned every later reader
        (y.nested_arrays(33), Reason.TOO_DEEP),
        (y.any_array(*[y.NULL] * 10_001), Reason.VALUE_TOO_LARGE),
        (y.any_string("字" * 30_000), Reason.VALUE_TOO_LARGE),
        (y.any_object({"k" * 70_000: y.NULL}), Reason.VALUE_TOO_LARGE),
    ],
)
async def test_values_past_the_limits_are_refused_before_anything_reads_them(
    engine: SyncEngine, value: bytes, reason: Reason
) -> None:
    doc_id, _ = await created(engine)
    before = await stored(engine)
    assert await push(engine, doc_id, y.field_value(CLIENT, value)) == ("refused", reason)
    assert await push(
        engine,
        str(uuid.uuid4()),
        creation_with(y.item_in_root("fields", y.any_content(value), "x")),
    ) == ("refused", reason)
    assert await stored(engine) == before
    assert "x" not in (await _content(engine, doc_id))["fields"]


async def test_values_within_the_limits_are_kept_whole(engine: SyncEngine) -> None:
    doc_id, _ = await created(engine)
    deep = y.nested_arrays(32)
    assert await push(engine, doc_id, y.field_value(CLIENT, deep)) == ("accepted", None)
    value = (await _content(engine, doc_id))["fields"]["x"]
    for _ in range(32):
        (value,) = value
    assert value is None


async def test_shared_types_nested_too_deep_are_refused_in_one_update_or_across_several(
    engine: SyncEngine,
) -> None:
    doc_id, _ = await created(engine)
    # 100,000 Y.Arrays deep (~800 KB): pycrdt applies it, then rendering it crashes.
    assert await push(engine, doc_id, y.nested_types(CLIENT, 100_000)) == ("refused", "too_deep")
    # 30 deep is fine; 5 more levels under the deepest, in a later update, are not.
    assert await push(engine, doc_id, y.nested_types(CLIENT, 30)) == ("accepted", None)
    deeper = [y.item_in((CLIENT, 29), y.type_content(y.Y_ARRAY))]
    deeper += [y.item_in((CLIENT, clock), y.type_content(y.Y_ARRAY)) for clock in range(30, 34)]
    assert await push(engine, doc_id, y.update({CLIENT: (30, deeper)})) == ("refused", "too_deep")
    # A shared type hung after a sibling (an origin, no parent written) counts as deep too.
    sibling = [y.item_after((CLIENT, 29), y.type_content(y.Y_MAP))]
    assert await push(engine, doc_id, y.update({CLIENT: (30, sibling)})) == ("accepted", None)
    below = [y.item_in((CLIENT, 30), y.type_content(y.Y_ARRAY), "k")]
    below += [y.item_in((CLIENT, clock), y.type_content(y.Y_ARRAY)) for clock in range(31, 34)]
    assert await push(engine, doc_id, y.update({CLIENT: (31, below)})) == ("refused", "too_deep")


@pytest.mark.parametrize(
    ("update", "reason"),
    [
        (
            y.update({CLIENT: (0, [y.item_in_root("evil", y.any_content(y.NULL), "k")])}),
            "unknown_root",
        ),
        (
            y.update(
                {
                    CLIENT: (
                        0,
                        [
                            bytes([9 | y.PARENT_SUB])
                            + y.uint(1)
                            + y.string("fields")
                            + y.string("k")
                            + y.string("guid")
                            + y.NULL
                        ],
                    )
                }
            ),
            "unsupported_content",
        ),
        (
            y.update({CLIENT: (0, [y.item_in_root("fields", b"\x08" + y.uint(2**32), "k")])}),
            "value_too_large",
        ),
        (y.field_value(CLIENT, y.any_array(y.NULL))[:-3], "malformed_update"),
        (y.field_value(CLIENT, bytes([99])), "malformed_update"),
    ],
)
async def test_what_is_not_a_record_update_is_refused(
    engine: SyncEngine, update: bytes, reason: str
) -> None:
    doc_id, _ = await created(engine)
    before = await stored(engine)
    assert await push(engine, doc_id, update) == ("refused", reason)
    assert await stored(engine) == before


async def test_a_tablet_cannot_delete_what_the_server_writes_next(engine: SyncEngine) -> None:
    doc_id, _ = await created(engine)
    await engine.write_as_server(OFFICE, doc_id, _review("approved"))
    # The attacker reads every client id (the server's too) from the state vector, and
    # deletes the clocks each would write next: a 15-byte update.
    state = decode_state_vector(await engine.state_vector(ALICE, doc_id))
    for client, clock in [*state.items(), (CLIENT, 0)]:
        forged = y.deletion(client, clock, 50)
        assert len(forged) < 16
        assert await push(engine, doc_id, forged) == ("refused", "missing_dependencies")
    await engine.write_as_server(OFFICE, doc_id, _review("sent_back"))
    assert (await _content(engine, doc_id))["review"]["state"] == "sent_back"


async def test_a_forged_deletion_an_older_server_stored_cannot_undo_the_next_decision(
    engine: SyncEngine,
) -> None:
    doc_id, _ = await created(engine)
    await engine.write_as_server(OFFICE, doc_id, _review("approved"))
    state = decode_state_vector(await engine.state_vector(ALICE, doc_id))
    forged = y.update({}, {client: [(clock, 1000)] for client, clock in state.items()})
    await engine.store.append([NewUpdate(doc_id, "G1", forged, "alice")])  # stored unchecked
    engine.cache.evict(doc_id)
    await engine.write_as_server(OFFICE, doc_id, _review("sent_back"))
    # Reloaded from the log, as a tablet would build it: the decision is there.
    replica = Doc()
    for row in (await engine.pull(Scope("tablet", frozenset({"G1"})), None, None)).updates:
        replica.apply_update(row.data)
    assert replica.get("review", type=Map).get("state") == "sent_back"


async def test_notes_and_log_are_append_only(engine: SyncEngine) -> None:
    doc_id, doc = await created(engine)
    assert (await push(engine, doc_id, add_note(doc, "上门调解")))[0] == "accepted"
    await engine.write_as_server(OFFICE, doc_id, _note("review", "审核通过"))
    replica = Doc()
    replica.apply_update(await engine.diff(ALICE, doc_id, None))
    notes = replica.get("notes", type=Array)
    for index in (1, 0):  # the server's review note, the tablet's own note
        before = replica.get_state()
        del notes[index]
        deleting = replica.get_update(before)
        assert await push(engine, doc_id, deleting) == ("refused", "append_only")
        replica = Doc()
        replica.apply_update(await engine.diff(ALICE, doc_id, None))
        notes = replica.get("notes", type=Array)
    log = replica.get("log", type=Array)
    before = replica.get_state()
    log.append({"id": "e1", "f": "x", "v": 1, "prev": []})
    assert await push(engine, doc_id, replica.get_update(before)) == ("accepted", None)
    before = replica.get_state()
    del log[0]
    assert await push(engine, doc_id, replica.get_update(before)) == ("refused", "append_only")
    assert len((await _content(engine, doc_id))["notes"]) == 2


async def test_an_entry_kept_as_a_y_map_is_not_edited_after_it_is_added(
    engine: SyncEngine,
) -> None:
    doc_id, doc = await created(engine)
    notes = doc.get("notes", type=Array)
    before = doc.get_state()
    notes.append(Map({"id": "n1", "kind": "note", "text": "已上门"}))
    assert await push(engine, doc_id, doc.get_update(before)) == ("accepted", None)
    before = doc.get_state()
    notes[0]["text"] = "改过的"
    assert await push(engine, doc_id, doc.get_update(before)) == ("refused", "append_only")
    assert (await _content(engine, doc_id))["notes"][0]["text"] == "已上门"


async def test_review_and_meta_stay_the_servers(engine: SyncEngine) -> None:
    doc_id, doc = await created(engine)
    await engine.write_as_server(OFFICE, doc_id, _review("approved"))
    replica = Doc()
    replica.apply_update(await engine.diff(ALICE, doc_id, None))
    before = replica.get_state()
    del replica.get("review", type=Map)["state"]
    assert await push(engine, doc_id, replica.get_update(before)) == (
        "refused",
        "server_owned_root",
    )
    assert await push(engine, doc_id, edit(doc, "meta", "grid", "G2")) == (
        "refused",
        "server_owned_root",
    )


@pytest.mark.parametrize(
    "spelling",
    [str.upper, lambda u: "{" + u + "}", lambda u: "urn:uuid:" + u, lambda u: u.replace("-", "")],
)
async def test_one_uuid_names_one_document(engine: SyncEngine, spelling: object) -> None:
    doc_id, _, first = new_record()
    other = spelling(doc_id)  # type: ignore[operator]
    assert await push(engine, other, first) == ("refused", "malformed_document_id")
    assert await push(engine, doc_id, first) == ("accepted", None)
    assert await push(engine, other, first) == ("refused", "malformed_document_id")


@pytest.mark.parametrize("value", [2**64 - 1, 2**63, -(2**63)])
async def test_cursors_hold_only_sequences_a_database_can(engine: SyncEngine, value: int) -> None:
    import base64

    import msgspec

    token = base64.urlsafe_b64encode(msgspec.msgpack.encode({"G1": value})).decode().rstrip("=")
    with pytest.raises(Exception, match="malformed_cursor"):
        await engine.pull(ALICE, token, None)


async def test_a_document_an_older_server_stored_unchecked_is_unreadable_not_fatal(
    engine: SyncEngine,
) -> None:
    doc_id, doc = await created(engine)
    await engine.store.append(
        [NewUpdate(doc_id, "G1", y.field_value(CLIENT, y.nested_arrays(1_000)), "alice")]
    )
    engine.cache.evict(doc_id)
    note = add_note(doc, "之后的记录")
    assert await push(engine, doc_id, note) == ("refused", "unreadable_document")
    with pytest.raises(Exception, match="unreadable_document"):
        await engine.diff(ALICE, doc_id, None)
    with pytest.raises(Exception, match="unreadable_document"):
        await engine.write_as_server(OFFICE, doc_id, _review("approved"))
    assert await engine.compact(doc_id) is False
    # Other records flow as ever.
    other_id, _, other = new_record()
    assert await push(engine, other_id, other) == ("accepted", None)


def test_limits_are_settings() -> None:
    assert Limits().shape.max_depth == 32


# --- helpers -----------------------------------------------------------------------------


async def _content(engine: SyncEngine, doc_id: str) -> dict[str, object]:
    replica = Doc()
    replica.apply_update(await engine.diff(ALICE, doc_id, None))
    return to_plain(replica)


def _review(state: str):  # type: ignore[no-untyped-def]
    def edit(doc: Doc) -> None:
        doc.get("review", type=Map)["state"] = state

    return edit


def _note(kind: str, text: str):  # type: ignore[no-untyped-def]
    def edit(doc: Doc) -> None:
        doc.get("notes", type=Array).append({"id": str(uuid.uuid4()), "kind": kind, "text": text})

    return edit


async def test_the_servers_own_writes_keep_within_the_limits(engine: SyncEngine) -> None:
    doc_id, _ = await created(engine)
    before = await stored(engine)
    deep: object = None
    for _ in range(40):
        deep = [deep]

    def write(doc: Doc) -> None:
        doc.get("fields", type=Map)["x"] = deep

    with pytest.raises(Exception, match="too_deep"):
        await engine.write_as_server(OFFICE, doc_id, write)
    assert await stored(engine) == before
    assert "x" not in (await _content(engine, doc_id))["fields"]
