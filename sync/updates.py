"""Checking one incoming Yjs v1 update against the document it is meant for."""

from enum import Enum
from typing import Any

from pycrdt import Doc, TransactionEvent, get_update

from sync.errors import Reason, Refused

_NOTHING = b"\x00\x00"  # an update with no structs and an empty delete set


class Applied(Enum):
    CHANGED = "changed"
    DUPLICATE = "duplicate"


def check_size(update: bytes, max_bytes: int) -> None:
    if not update:
        raise Refused(Reason.EMPTY_UPDATE, "the update has no bytes")
    if len(update) > max_bytes:
        raise Refused(
            Reason.UPDATE_TOO_LARGE, f"the update has {len(update)} bytes; the limit is {max_bytes}"
        )


def apply_checked(doc: Doc[Any], update: bytes) -> Applied:
    """Apply `update` to `doc`, refusing garbage and updates whose dependencies are missing.

    On a refusal `doc` may hold part of the update: the caller must discard it.
    """
    if update.startswith(_NOTHING):
        # No structs and no deletions, whatever follows: garbage can decode as this.
        raise Refused(Reason.EMPTY_UPDATE, "the update contains no changes")
    changes: list[bytes] = []

    def record(event: TransactionEvent) -> None:
        changes.append(event.update)

    subscription = doc.observe(record)
    try:
        doc.apply_update(update)
    except ValueError as error:
        raise Refused(Reason.MALFORMED_UPDATE, f"not a Yjs v1 update: {error}") from error
    finally:
        doc.unobserve(subscription)
    # Structs the document could not integrate are held back silently by Yjs.
    held_back = get_update(update, doc.get_state())
    if held_back[0] != 0:
        raise Refused(
            Reason.MISSING_DEPENDENCIES,
            "the update depends on changes the server does not have: send the whole document",
        )
    if any(change != _NOTHING for change in changes):
        return Applied.CHANGED
    if held_back != _NOTHING:
        # Deletions of items nobody has yet: keep them, they apply once the items arrive.
        return Applied.CHANGED
    return Applied.DUPLICATE
