"""Checking one incoming Yjs v1 update against the document it is meant for."""

from enum import Enum
from typing import Any

from pycrdt import Doc, TransactionEvent, get_update

from sync.errors import Reason, Refused
from sync.shape import Shape, ShapeLimits, inspect_update

_NOTHING = b"\x00\x00"  # an update with no structs and an empty delete set


class Applied(Enum):
    CHANGED = "changed"
    DUPLICATE = "duplicate"


def check_update(update: bytes, max_bytes: int, limits: ShapeLimits) -> Shape:
    """What can be checked of an update alone, before any document sees it."""
    if not update:
        raise Refused(Reason.EMPTY_UPDATE, "the update has no bytes")
    if len(update) > max_bytes:
        raise Refused(
            Reason.UPDATE_TOO_LARGE, f"the update has {len(update)} bytes; the limit is {max_bytes}"
        )
    if update.startswith(_NOTHING):
        # No structs and no deletions, whatever follows: garbage can decode as this.
        raise Refused(Reason.EMPTY_UPDATE, "the update contains no changes")
    return inspect_update(update, limits)


def apply_checked(doc: Doc[Any], update: bytes, shape: Shape) -> Applied:
    """Apply a checked `update` to `doc`, refusing updates that build on changes the
    server does not have: items whose dependencies are missing, and deletions of items
    nobody has (a tablet could otherwise delete what the server writes next).

    On a refusal `doc` may hold part of the update: the caller must discard it.
    """
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
    state = doc.get_state()
    # Structs the document could not integrate are held back silently by Yjs.
    if get_update(update, state)[0] != 0:
        raise Refused(
            Reason.MISSING_DEPENDENCIES,
            "the update depends on changes the server does not have: send the whole document",
        )
    if shape.deletes:
        _check_deletions_known(shape, decode_state_vector(state))
    if any(change != _NOTHING for change in changes):
        return Applied.CHANGED
    return Applied.DUPLICATE


def _check_deletions_known(shape: Shape, state: dict[int, int]) -> None:
    for client, ranges in shape.deletes.items():
        known = state.get(client, 0)
        if any(clock + length > known for clock, length in ranges):
            raise Refused(
                Reason.MISSING_DEPENDENCIES,
                "the update deletes changes the server does not have: send the whole document",
            )


def decode_state_vector(state: bytes) -> dict[int, int]:
    """A Yjs v1 state vector (as pycrdt makes it): client → next clock."""
    values: list[int] = []
    value = shift = 0
    for byte in state:
        value |= (byte & 0x7F) << shift
        shift += 7
        if byte < 0x80:
            values.append(value)
            value = shift = 0
    return dict(zip(values[1::2], values[2::2], strict=True))
