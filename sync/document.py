"""Record documents rebuilt from stored updates, and their content read safely.

Every update a push stores has passed `sync.shape`'s checks, but the log may hold updates an
older server stored unchecked (a value nested thousands deep). Rendering such a document
recurses past the stack, so every reader replays the log through `replay`: each stored
update is inspected before pycrdt sees it, and a document that is not within the limits is
`Unreadable` — refused by the engine, flagged by the projection — instead of crashing or
poisoning every later reader.
"""

from collections.abc import Iterable
from typing import Any

from pycrdt import Doc

from sync.errors import Reason, Refused
from sync.layout import to_plain
from sync.shape import ShapeLimits, inspect_update, type_depth


class Unreadable(Refused):
    """A stored document whose content is not within the limits: it cannot be read."""

    def __init__(self, detail: str) -> None:
        super().__init__(Reason.UNREADABLE_DOCUMENT, detail)


def check_type_depth(doc: Doc[Any], limits: ShapeLimits) -> None:
    """Refuse (`too_deep`) a document whose shared types nest deeper than the limit."""
    depth = type_depth(doc.get_update(), limits)
    if depth > limits.max_depth:
        detail = f"shared types nest {depth} levels deep; the limit is {limits.max_depth}"
        raise Refused(Reason.TOO_DEEP, detail)


def replay(doc: Doc[Any], updates: Iterable[bytes], limits: ShapeLimits) -> None:
    """Apply stored updates to `doc`, each checked first; `Unreadable` if one is not within
    the limits (`doc` then holds the updates before it) or the types nest too deep."""
    has_types = False
    for data in updates:
        try:
            has_types = inspect_update(data, limits, roots=None).has_types or has_types
        except Refused as refusal:
            raise Unreadable(f"a stored update is refused: {refusal.detail}") from None
        doc.apply_update(data)
    if has_types:
        try:
            check_type_depth(doc, limits)
        except Refused as refusal:
            raise Unreadable(refusal.detail) from None


def rebuild(updates: Iterable[bytes], limits: ShapeLimits) -> Doc[Any]:
    doc: Doc[Any] = Doc()
    replay(doc, updates, limits)
    return doc


def content_of(updates: Iterable[bytes], limits: ShapeLimits) -> dict[str, Any]:
    """A stored document's content as plain JSON; `Unreadable` when it cannot be read."""
    return to_plain(rebuild(updates, limits))
