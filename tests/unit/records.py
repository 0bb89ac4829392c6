"""Record documents built the way a tablet builds them, for core tests."""

import uuid

from pycrdt import Array, Doc, Map


def new_record(kind: str = "visit", grid: str = "G1", **fields: object) -> tuple[str, Doc, bytes]:
    """A new record document and its first update."""
    doc = Doc()
    with doc.transaction():
        doc.get("meta", type=Map).update({"kind": kind, "grid": grid, "created_by": "t"})
        doc.get("fields", type=Map).update(fields)
    return str(uuid.uuid4()), doc, doc.get_update()


def edit(doc: Doc, root: str, key: str, value: object) -> bytes:
    """Change one key of a root map; returns the update."""
    before = doc.get_state()
    doc.get(root, type=Map)[key] = value
    update: bytes = doc.get_update(before)
    return update


def add_note(doc: Doc, text: str) -> bytes:
    before = doc.get_state()
    doc.get("notes", type=Array).append({"id": str(uuid.uuid4()), "text": text})
    update: bytes = doc.get_update(before)
    return update
