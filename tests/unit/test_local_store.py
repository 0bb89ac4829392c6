"""The tablet's local file: its token survives a restart, dropping a grid's documents and
moving the cursor happen together, and refused edits are kept and can be sent again."""

from pathlib import Path

from tablet.local_store import LocalStore


def test_the_token_survives_a_restart(tmp_path: Path) -> None:
    store = LocalStore(tmp_path / "t.sqlite3")
    assert store.token() is None
    store.save_token("dst_first", "device-1")
    store.save_token("dst_rotated")
    store.close()
    reopened = LocalStore(tmp_path / "t.sqlite3")
    assert (reopened.token(), reopened.device_id()) == ("dst_rotated", "device-1")
    reopened.close()


def test_dropped_documents_go_with_the_cursor_that_forgot_their_grid(tmp_path: Path) -> None:
    store = LocalStore(tmp_path / "t.sqlite3")
    store.save_pulled({"a": b"A", "b": b"B", "c": b"C"}, "cursor-1")
    store.save_pulled({"d": b"D"}, "cursor-2", drop=["a", "c"])
    assert (store.doc_ids(), store.cursor()) == (["b", "d"], "cursor-2")
    assert store.state("a") is None
    store.close()


def test_refused_edits_stay_listed_and_can_be_sent_again(tmp_path: Path) -> None:
    store = LocalStore(tmp_path / "t.sqlite3")
    store.save_edit("a", b"state-a", b"edit-a")
    store.save_edit("b", b"state-b", b"edit-b")
    store.save_edit("c", b"state-c", b"edit-c")
    first, second, _ = store.unsent(1 << 20, 10)
    store.refuse(first.id, "out_of_scope", "not your grid")
    store.refuse(second.id, "server_owned_root", "meta")
    store.acknowledge([entry.id for entry in store.unsent(1 << 20, 10)])
    assert store.docs_in_outbox() == {"a", "b"}  # refused edits are still unsent edits
    assert store.unsent_count() == 0

    assert store.retry_refused("out_of_scope") == 1
    assert [entry.doc_id for entry in store.unsent(1 << 20, 10)] == ["a"]
    assert [refusal.doc_id for refusal in store.refusals()] == ["b"]
    store.close()
