"""The record-document layout (docs/record-documents.md is the contract)."""

from typing import Any

import msgspec
from pycrdt import Array, Doc, Map

KINDS = frozenset({"household", "visit", "case"})


def _plain(root: Map[Any] | Array[Any]) -> Any:
    # yrs renders JSON natively: several times faster than pycrdt's `to_py()` walk.
    # Numbers come back as JSON numbers (1, not 1.0); they compare equal either way.
    return msgspec.json.decode(str(root))


def meta_of(doc: Doc[Any]) -> dict[str, Any]:
    meta: dict[str, Any] = _plain(doc.get("meta", type=Map))
    return meta


def record_kind_and_grid(doc: Doc[Any]) -> tuple[str, str] | None:
    """`(kind, grid)` from a document's `meta`, or None when either is missing or invalid."""
    meta = meta_of(doc)
    kind, grid = meta.get("kind"), meta.get("grid")
    if kind in KINDS and isinstance(grid, str) and 0 < len(grid) <= 64:
        return kind, grid
    return None


def to_plain(doc: Doc[Any]) -> dict[str, Any]:
    """The document's content as plain JSON (used by tests and clients)."""
    return {
        "meta": meta_of(doc),
        "fields": _plain(doc.get("fields", type=Map)),
        "log": _plain(doc.get("log", type=Array)),
        "notes": _plain(doc.get("notes", type=Array)),
        "review": _plain(doc.get("review", type=Map)),
    }
