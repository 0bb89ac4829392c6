"""Reading a Yjs v1 update's bytes before anything recursive touches them.

yrs decodes and renders nested values recursively: an array nested 50,000 deep in a 100 KB
update overflows the stack and kills the process (SIGSEGV), and one nested 1,000 deep
breaks every later reader of the record. So every update is first walked here, iteratively,
and refused unless each value is within `ShapeLimits`: nesting depth, entries per array or
object, bytes per string. Shared types (a `Y.Map` inside a `Y.Array` …) nest across updates,
so their depth is measured on the whole document once it holds the update (`type_depth`).

The format is lib0's, as Yjs writes it (`readClientsStructRefs`, `readItemContent`,
`readAny` in yjs and lib0).
"""

from bisect import bisect_right
from collections.abc import Callable
from dataclasses import dataclass, field

from sync.errors import Reason, Refused

ROOTS = frozenset({"meta", "fields", "log", "notes", "review"})

# Content references of an item: the low five bits of its info byte.
_GC, _DELETED, _JSON, _BINARY, _STRING, _EMBED, _FORMAT, _TYPE, _ANY, _DOC, _SKIP = range(11)
_ORIGIN, _RIGHT_ORIGIN, _PARENT_SUB = 0x80, 0x40, 0x20
# lib0 `any` tags (127 undefined … 116 bytes) → fixed size in bytes after the tag.
_ANY_FIXED = {127: 0, 126: 0, 124: 4, 123: 8, 122: 8, 121: 0, 120: 0}
_ANY_VARINT, _ANY_STRING, _ANY_OBJECT, _ANY_ARRAY, _ANY_BYTES = 125, 119, 118, 117, 116
# Shared types that carry a name: XmlElement (3) and XmlHook (5).
_NAMED_TYPES = frozenset({3, 5})

ID = tuple[int, int]  # (client, clock)


@dataclass(frozen=True, slots=True)
class ShapeLimits:
    # Containers inside one value; shared types inside one another.
    max_depth: int = 32
    # Entries of one array or object; values of one item.
    max_entries: int = 10_000
    # UTF-8 bytes of one string (a text, a key, a name).
    max_string_bytes: int = 64 << 10


@dataclass(slots=True)
class Shape:
    """What an update holds, as far as the checks need it."""

    # Whether it holds shared types (nested Y.Map, Y.Array …): then the document's type
    # depth must be measured once it is applied.
    has_types: bool = False
    # Its delete set: client → [(clock, length)].
    deletes: dict[int, list[tuple[int, int]]] = field(default_factory=dict)


@dataclass(slots=True)
class _Struct:
    """An item as `type_depth` needs it: where it is and what it hangs from."""

    length: int
    origin: ID | None = None
    right_origin: ID | None = None
    parent: ID | None = None
    under_root: bool = False
    is_type: bool = False
    # Filled in by `type_depth`: how deep the item hangs (-1: not yet known).
    depth: int = -1


class _Malformed(Exception):
    pass


def _too_long(size: int, limit: int) -> Refused:
    return Refused(Reason.VALUE_TOO_LARGE, f"a string of {size} bytes; the limit is {limit}")


def _too_deep(limit: int) -> Refused:
    return Refused(Reason.TOO_DEEP, f"a value nests more than {limit} levels deep")


class _Reader:
    """lib0 decoding over bytes, never recursing, refusing what passes the limits."""

    __slots__ = ("data", "limits", "measure", "pos", "roots")

    def __init__(
        self, data: bytes, limits: ShapeLimits, roots: frozenset[str] | None, measure: bool
    ) -> None:
        self.data = data
        self.limits = limits
        self.roots = roots
        # Whether to count strings' clock lengths (`type_depth` needs them; checks do not).
        self.measure = measure
        self.pos = 0

    def byte(self) -> int:
        try:
            value = self.data[self.pos]
        except IndexError:
            raise _Malformed("the update ends early") from None
        self.pos += 1
        return value

    def uint(self) -> int:
        value = self.byte()
        if value < 0x80:
            return value
        value &= 0x7F
        shift = 7
        while True:
            byte = self.byte()
            value |= (byte & 0x7F) << shift
            if byte < 0x80:
                return value
            shift += 7
            if shift > 63:
                raise _Malformed("a number is too long")

    def id(self) -> ID:
        return self.uint(), self.uint()

    def skip(self, count: int) -> int:
        start = self.pos
        self.pos += count
        if self.pos > len(self.data):
            raise _Malformed("the update ends early")
        return start

    def string(self) -> bytes:
        size = self.uint()
        if size > self.limits.max_string_bytes:
            raise _too_long(size, self.limits.max_string_bytes)
        start = self.skip(size)
        return self.data[start : self.pos]

    def entries(self) -> int:
        count = self.uint()
        if count > self.limits.max_entries:
            raise Refused(
                Reason.VALUE_TOO_LARGE,
                f"{count} entries in one value; the limit is {self.limits.max_entries}",
            )
        return count

    def any_value(self) -> None:
        """Skip one lib0 `any`, the hot loop of every check (hence inlined). `open` holds,
        per container being read, how many entries are still to come and whether it is an
        object (a key before each value)."""
        data, pos, limits = self.data, self.pos, self.limits
        open: list[list[int]] = []
        try:
            while True:
                tag = data[pos]
                pos += 1
                if tag == _ANY_STRING:
                    size = data[pos]
                    pos += 1
                    if size >= 0x80:
                        self.pos = pos - 1
                        size = self.uint()
                        pos = self.pos
                    if size > limits.max_string_bytes:
                        raise _too_long(size, limits.max_string_bytes)
                    pos += size
                elif tag in _ANY_FIXED:
                    pos += _ANY_FIXED[tag]
                elif tag in (_ANY_OBJECT, _ANY_ARRAY):
                    if len(open) >= limits.max_depth:
                        raise _too_deep(limits.max_depth)
                    self.pos = pos
                    open.append([self.entries(), tag == _ANY_OBJECT])
                    pos = self.pos
                elif tag == _ANY_VARINT:
                    while data[pos] >= 0x80:
                        pos += 1
                    pos += 1
                elif tag == _ANY_BYTES:
                    self.pos = pos
                    self.skip(self.uint())
                    pos = self.pos
                else:
                    raise _Malformed(f"unknown value tag {tag}")
                while open and open[-1][0] == 0:
                    open.pop()
                if not open:
                    break
                open[-1][0] -= 1
                if open[-1][1]:  # the key of the next entry
                    size = data[pos]
                    pos += 1
                    if size >= 0x80:
                        self.pos = pos - 1
                        size = self.uint()
                        pos = self.pos
                    if size > limits.max_string_bytes:
                        raise _too_long(size, limits.max_string_bytes)
                    pos += size
        except IndexError:
            raise _Malformed("the update ends early") from None
        if pos > len(data):
            raise _Malformed("the update ends early")
        self.pos = pos

    def json_text(self) -> None:
        """A JSON text (old Yjs content): depth counted over its brackets, strings aside."""
        text = self.string()
        depth, in_string, escaped = 0, False, False
        for char in text:
            if in_string:
                if escaped:
                    escaped = False
                elif char == 0x5C:  # backslash
                    escaped = True
                elif char == 0x22:
                    in_string = False
            elif char == 0x22:
                in_string = True
            elif char in (0x5B, 0x7B):  # [ {
                depth += 1
                if depth > self.limits.max_depth:
                    raise _too_deep(self.limits.max_depth)
            elif char in (0x5D, 0x7D):
                depth -= 1

    def item(self, info: int) -> _Struct:
        """One item after its info byte; its length in clock units."""
        struct = _Struct(1)
        if info & _ORIGIN:
            struct.origin = self.id()
        if info & _RIGHT_ORIGIN:
            struct.right_origin = self.id()
        if not info & (_ORIGIN | _RIGHT_ORIGIN):
            if self.uint() == 1:
                root = self.string().decode("utf-8", "replace")
                if self.roots is not None and root not in self.roots:
                    raise Refused(
                        Reason.UNKNOWN_ROOT,
                        f"a record document has the roots {', '.join(sorted(self.roots))}; "
                        f"not {root[:64]!r}",
                    )
                struct.under_root = True
            else:
                struct.parent = self.id()
            if info & _PARENT_SUB:
                self.string()
        self.content(info & 0x1F, struct)
        return struct

    def content(self, ref: int, struct: _Struct) -> None:
        if ref == _ANY:
            struct.length = self.entries()
            for _ in range(struct.length):
                self.any_value()
        elif ref == _STRING:
            text = self.string()
            if self.measure:
                struct.length = _utf16_length(text)
        elif ref == _DELETED:
            struct.length = self.uint()
        elif ref == _TYPE:
            struct.is_type = True
            if self.uint() in _NAMED_TYPES:
                self.string()
        elif ref == _BINARY:
            self.skip(self.uint())
        elif ref == _JSON:
            struct.length = self.entries()
            for _ in range(struct.length):
                self.json_text()
        elif ref == _EMBED:
            self.json_text()
        elif ref == _FORMAT:
            self.string()
            self.json_text()
        elif ref == _DOC:
            raise Refused(Reason.UNSUPPORTED_CONTENT, "a record document holds no subdocuments")
        else:
            raise _Malformed(f"unknown content {ref}")

    def structs(self, keep: dict[int, tuple[list[int], list[_Struct]]] | None) -> bool:
        """Read every struct, kept per client in `keep` if given; whether any is a type."""
        has_types = False
        for _ in range(self.uint()):
            count, client, clock = self.uint(), self.uint(), self.uint()
            starts, kept = keep.setdefault(client, ([], [])) if keep is not None else ([], [])
            for _ in range(count):
                info = self.byte()
                if info & 0x1F in (_GC, _SKIP):
                    struct = _Struct(self.uint())
                else:
                    struct = self.item(info)
                    has_types = has_types or struct.is_type
                if keep is not None:
                    starts.append(clock)
                    kept.append(struct)
                clock += struct.length
        return has_types


def _utf16_length(utf8: bytes) -> int:
    # Yjs counts a string's clock length in UTF-16 code units: four-byte UTF-8 sequences
    # (astral characters) are two, every other character one.
    text = utf8.decode("utf-8", "surrogatepass")
    return len(text) + sum(1 for char in text if ord(char) > 0xFFFF)


def inspect_update(data: bytes, limits: ShapeLimits, roots: frozenset[str] | None = ROOTS) -> Shape:
    """Check an update's values against `limits` without building any of them.

    Raises `Refused`: `malformed_update` (not a Yjs v1 update), `too_deep`,
    `value_too_large`, `unknown_root` (a root outside `roots`; None allows any),
    `unsupported_content` (a subdocument).
    """
    reader = _Reader(data, limits, roots, measure=False)
    shape = Shape()
    try:
        shape.has_types = reader.structs(None)
        for _ in range(reader.uint()):
            client = reader.uint()
            ranges = [reader.id() for _ in range(reader.uint())]
            shape.deletes.setdefault(client, []).extend(ranges)
    except (_Malformed, UnicodeDecodeError) as error:
        raise Refused(Reason.MALFORMED_UPDATE, f"not a Yjs v1 update: {error}") from None
    return shape


def type_depth(whole: bytes, limits: ShapeLimits) -> int:
    """How deep shared types nest in a document, from its whole state (`get_update()`).

    Yjs writes an item's parent only when it has no origin (it then hangs where its origin
    does), so parents are found by following origins, iteratively, each depth remembered:
    linear in the document, however deep it nests.
    """
    reader = _Reader(whole, limits, None, measure=True)
    kept: dict[int, tuple[list[int], list[_Struct]]] = {}
    try:
        reader.structs(kept)
    except (_Malformed, UnicodeDecodeError) as error:
        raise Refused(Reason.MALFORMED_UPDATE, f"not a Yjs v1 update: {error}") from None
    count = sum(len(structs) for _, structs in kept.values())

    def find(target: ID) -> _Struct | None:
        starts, structs = kept.get(target[0], ([], []))
        index = bisect_right(starts, target[1]) - 1
        if index < 0 or target[1] >= starts[index] + structs[index].length:
            return None
        return structs[index]

    deepest = 0
    for _, structs in kept.values():
        for struct in structs:
            if struct.is_type:
                deepest = max(deepest, _depth(struct, find, count))
    return deepest


def _depth(start: _Struct, find: Callable[[ID], "_Struct | None"], bound: int) -> int:
    """The depth of an item (a root's children are 1): walk what it hangs from up to an
    item of known depth, then set the depth of every item walked on the way back."""
    path: list[tuple[_Struct, int]] = []  # (item, how much deeper than the next one)
    struct: _Struct | None = start
    depth = 0  # hanging from nothing known: collected content
    while struct is not None:
        if struct.depth >= 0:
            depth = struct.depth
            break
        if struct.under_root:
            path.append((struct, 1))
            break
        if len(path) > bound:
            raise Refused(Reason.MALFORMED_UPDATE, "not a Yjs v1 update: items hang in a circle")
        if struct.parent is not None:
            path.append((struct, 1))
            struct = find(struct.parent)
        else:
            path.append((struct, 0))
            hang = struct.origin or struct.right_origin
            struct = find(hang) if hang is not None else None
    for walked, deeper in reversed(path):
        depth += deeper
        walked.depth = depth
    return start.depth
