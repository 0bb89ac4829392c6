"""The record-document layout (docs/record-documents.md is the contract)."""

from typing import Any

from pycrdt import Array, Doc, Map

KINDS = frozenset({"household", "visit", "case"})
# Roots a tablet may not change: `meta` after creation, `review` ever.
SERVER_OWNED_AFTER_CREATION = "meta"
SERVER_OWNED = "review"


def meta_of(doc: Doc[Any]) -> dict[str, Any]:
    meta: dict[str, Any] = doc.get("meta", type=Map).to_py() or {}
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
        "fields": doc.get("fields", type=Map).to_py() or {},
        "log": doc.get("log", type=Array).to_py() or [],
        "notes": doc.get("notes", type=Array).to_py() or [],
        "review": doc.get("review", type=Map).to_py() or {},
    }
