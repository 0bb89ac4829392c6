"""Yjs v1 updates written byte by byte, for hostile inputs pycrdt cannot express.

lib0's encoding as Yjs writes it: an update is its structs per client, then its delete set.
"""

from collections.abc import Iterable

ORIGIN, RIGHT_ORIGIN, PARENT_SUB = 0x80, 0x40, 0x20
ANY, TYPE, STRING = 8, 7, 4
Y_ARRAY, Y_MAP = 0, 1


def uint(value: int) -> bytes:
    out = bytearray()
    while True:
        byte = value & 0x7F
        value >>= 7
        if value:
            out.append(byte | 0x80)
        else:
            out.append(byte)
            return bytes(out)


def string(text: str) -> bytes:
    data = text.encode()
    return uint(len(data)) + data


# lib0 `any` values.
NULL = bytes([126])
TRUE = bytes([120])


def any_string(text: str) -> bytes:
    return bytes([119]) + string(text)


def any_array(*values: bytes) -> bytes:
    return bytes([117]) + uint(len(values)) + b"".join(values)


def any_object(entries: dict[str, bytes]) -> bytes:
    body = b"".join(string(key) + value for key, value in entries.items())
    return bytes([118]) + uint(len(entries)) + body


def nested_arrays(depth: int) -> bytes:
    """`[[[…null…]]]`, `depth` arrays deep."""
    return bytes([117, 1]) * depth + NULL


def nested_objects(depth: int) -> bytes:
    """`{"a": {"a": …null…}}`, `depth` objects deep."""
    return (bytes([118, 1]) + string("a")) * depth + NULL


def item_in_root(root: str, content: bytes, key: str | None = None) -> bytes:
    """An item without origins hanging straight from a root (a map's `key` if given)."""
    info = content[0] | (PARENT_SUB if key is not None else 0)
    parent = uint(1) + string(root) + (string(key) if key is not None else b"")
    return bytes([info]) + parent + content[1:]


def item_in(parent: tuple[int, int], content: bytes, key: str | None = None) -> bytes:
    """An item without origins hanging from the shared type made by item `parent`."""
    info = content[0] | (PARENT_SUB if key is not None else 0)
    where = uint(0) + uint(parent[0]) + uint(parent[1])
    return bytes([info]) + where + (string(key) if key is not None else b"") + content[1:]


def item_after(origin: tuple[int, int], content: bytes) -> bytes:
    """An item inserted right after item `origin` (in the same parent)."""
    return bytes([content[0] | ORIGIN]) + uint(origin[0]) + uint(origin[1]) + content[1:]


def any_content(*values: bytes) -> bytes:
    """Item content: `values` as one ContentAny (first byte: the content reference)."""
    return bytes([ANY]) + uint(len(values)) + b"".join(values)


def type_content(type_ref: int) -> bytes:
    return bytes([TYPE]) + uint(type_ref)


def update(
    structs: dict[int, tuple[int, list[bytes]]],
    deletes: dict[int, Iterable[tuple[int, int]]] | None = None,
) -> bytes:
    """An update: per client, its first clock and its items (one clock each, as every
    item here is); then the delete set, client → (clock, length) ranges."""
    out = bytearray(uint(len(structs)))
    for client, (clock, items) in structs.items():
        out += uint(len(items)) + uint(client) + uint(clock) + b"".join(items)
    deletes = deletes or {}
    out += uint(len(deletes))
    for client, ranges in deletes.items():
        listed = list(ranges)
        out += uint(client) + uint(len(listed))
        for clock, length in listed:
            out += uint(clock) + uint(length)
    return bytes(out)


def field_value(client: int, value: bytes, key: str = "x", clock: int = 0) -> bytes:
    """An update setting `fields[key]` to the `any` value `value`."""
    return update({client: (clock, [item_in_root("fields", any_content(value), key)])})


def nested_types(client: int, depth: int, root: str = "fields", key: str = "x") -> bytes:
    """`fields[key]` a Y.Array holding a Y.Array … `depth` shared types deep."""
    items = [item_in_root(root, type_content(Y_ARRAY), key)]
    items += [item_in((client, clock), type_content(Y_ARRAY)) for clock in range(depth - 1)]
    return update({client: (0, items)})


def deletion(client: int, clock: int, length: int = 1) -> bytes:
    """An update that only deletes `length` items of `client` from `clock`."""
    return update({}, {client: [(clock, length)]})
