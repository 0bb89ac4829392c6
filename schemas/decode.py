"""Decode a record document into rows for SQL: the projection and its checks use this oracle.

`decode(doc_id, content)` takes `sync.layout.to_plain(doc)` and returns a `Decoded` whose
`tables()` holds, per table name, every row the document has in that table. It is pure
(no pycrdt, no SQL), deterministic (equal content gives equal rows, whatever the order of
keys) and total: it never raises, whatever JSON a tablet wrote. A value that fails
validation is left NULL in its column and reported as an `Issue`; everything else is
projected ("as far as it goes"). The document itself always keeps what was written.
docs/record-schemas.md describes the rows.
"""

import base64
import functools
import hashlib
import json
import math
import re
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime
from enum import Enum
from typing import Annotated, Any

import msgspec
import msgspec.inspect as mi
from msgspec import Meta

from schemas.enums import Coded, MediationMethod, RecordKind
from schemas.records import RECORD_FIELDS, STORABLE, AwareDateTime, RecordFields
from schemas.review import review_state

Row = dict[str, Any]

MAIN_TABLES: dict[RecordKind, str] = {
    RecordKind.HOUSEHOLD: "households",
    RecordKind.VISIT: "visits",
    RecordKind.CASE: "cases",
}
# List fields of a kind → the child table of their items.
CHILD_TABLES: dict[RecordKind, dict[str, str]] = {
    RecordKind.HOUSEHOLD: {"members": "household_members", "tags": "household_tags"},
    RecordKind.VISIT: {"needs": "visit_needs"},
    RecordKind.CASE: {"parties": "case_parties"},
}
# A list of codes goes to one column of its child table.
CODE_COLUMNS = {"tags": "tag"}
COMMON_TABLES = ("record_notes", "field_history", "conflicts", "validation_issues")

ID_LENGTH = 64  # log entry and note ids (the SDK writes UUIDs)
FIELD_NAME_LENGTH = 64
AUTHOR_LENGTH = 100
DEVICE_ID_LENGTH = 36  # the server's device ids are UUIDs
NOTE_KIND_LENGTH = 32
NOTE_TEXT_LENGTH = 10_000
GRID_LENGTH = 64

_MAX_DEPTH = 64
_SAFE_INT = 2**53
_PLAIN_KEY = re.compile(r"[A-Za-z_][A-Za-z0-9_]{0,63}")


class Issue(msgspec.Struct, frozen=True):
    """One value that could not be projected: `path` like `fields.needs[1].category`."""

    path: str
    message: str


class Decoded(msgspec.Struct, frozen=True, kw_only=True):
    doc_id: str
    kind: RecordKind | None
    grid: str | None
    issues: list[Issue]
    # Table name → this document's rows in it (see `tables`).
    rows: dict[str, list[Row]]

    @property
    def main_table(self) -> str | None:
        return MAIN_TABLES[self.kind] if self.kind else None

    @property
    def main_row(self) -> Row | None:
        return self.rows[self.main_table][0] if self.main_table else None

    def tables(self) -> dict[str, list[Row]]:
        """Every table this document may have rows in → its rows there, in a fixed order.

        An empty list means "no rows": a projector deletes the document's old rows of each
        table and inserts these (the main table, one row, can be upserted by `doc_id`).
        A document of unknown kind has only the common tables.
        """
        return dict(self.rows)


def decode(doc_id: str, content: Any) -> Decoded:
    """The rows of one record document; `content` is `sync.layout.to_plain(doc)`."""
    issues = _Issues()
    if not isinstance(content, dict):
        issues.add("content", f"expected the document as an object, got {_kind_of(content)}")
        content = {}
    kind, grid, head = _meta(content.get("meta"), issues)
    rows: dict[str, list[Row]] = {}
    if kind is not None:
        fields = content.get("fields", {})
        columns, lists = _fields(RECORD_FIELDS[kind], fields, "fields", issues)
        main = {"doc_id": doc_id, **head, **columns}
        rows[MAIN_TABLES[kind]] = [main]
        for name, table in CHILD_TABLES[kind].items():
            rows[table] = [
                {"doc_id": doc_id, "position": i, **r} for i, r in enumerate(lists[name])
            ]
    rows["record_notes"] = _notes(doc_id, content.get("notes", []), issues)
    history, graph = _log(doc_id, content.get("log", []), issues)
    rows["field_history"] = history
    current = content.get("fields")
    rows["conflicts"] = _conflicts(doc_id, graph, current if isinstance(current, dict) else {})
    rows["validation_issues"] = [
        {"doc_id": doc_id, "position": i, "path": issue.path, "message": issue.message}
        for i, issue in enumerate(issues.items)
    ]
    if kind is RecordKind.VISIT:
        _when_visited(main, rows["visit_needs"])
    if kind is not None:
        main.update(
            issue_count=len(issues.items),
            has_conflict=any(row["status"] == "open" for row in rows["conflicts"]),
            review_state=review_state(content.get("review"), content.get("log")),
        )
    return Decoded(doc_id=doc_id, kind=kind, grid=grid, issues=issues.items, rows=rows)


def _when_visited(main: Row, needs: list[Row]) -> None:
    """The day a visit counts for (`happened_at`: when it was made, else when its record was
    created), on the visit and on each of its needs with the visit's grid: the dashboard
    counts a period's visits and needs from one index each, without a join."""
    happened_at = main["visited_at"] or main["created_at"]
    main["happened_at"] = happened_at
    for need in needs:
        need.update(grid=main["grid"], happened_at=happened_at)


# --- issues and values -------------------------------------------------------------------


class _Issues:
    def __init__(self) -> None:
        self.items: list[Issue] = []

    def add(self, path: str, message: str) -> None:
        self.items.append(Issue(_printable(path), _printable(message)))


def _printable(text: str) -> str:
    """Text any database stores: NUL and unpaired surrogates become escapes."""
    return text.replace("\x00", "\\x00").encode("utf-8", "backslashreplace").decode("utf-8")


def _key(key: Any) -> str:
    """A path step for a key: `.phone`, or `["电话"]` for anything else."""
    if isinstance(key, str) and _PLAIN_KEY.fullmatch(key):
        return f".{key}"
    return f"[{json.dumps(str(key)[:64], ensure_ascii=False)}]"


def _kind_of(value: Any) -> str:
    if value is None:
        return "null"
    for types, name in (
        (bool, "a boolean"),
        ((int, float), "a number"),
        (str, "a string"),
        (list, "a list"),
        (dict, "an object"),
    ):
        if isinstance(value, types):
            return name
    return type(value).__name__


def _show(value: Any) -> str:
    shown = json.dumps(json_safe(value), ensure_ascii=False)
    return shown if len(shown) <= 40 else shown[:39] + "…"


def json_safe(value: Any, depth: int = 0) -> Any:
    """`value` as JSON any database stores, deterministically (keys sorted).

    Integral floats become ints (Yjs numbers are floats); NaN and infinities become
    strings; bytes become `{"$bytes": base64}`; nesting deeper than 64 is cut off.
    """
    if value is None or isinstance(value, bool | int):
        return value
    if isinstance(value, str):
        return _json_text(value)
    if isinstance(value, float):
        if math.isnan(value):
            return "NaN"
        if math.isinf(value):
            return "Infinity" if value > 0 else "-Infinity"
        return int(value) if value.is_integer() and abs(value) <= _SAFE_INT else value
    if depth >= _MAX_DEPTH:
        return "<too deep>"
    if isinstance(value, dict):
        items = sorted(((_json_text(str(k)), v) for k, v in value.items()), key=lambda kv: kv[0])
        return {key: json_safe(item, depth + 1) for key, item in items}
    if isinstance(value, list | tuple):
        return [json_safe(item, depth + 1) for item in value]
    if isinstance(value, bytes | bytearray | memoryview):
        return {"$bytes": base64.b64encode(bytes(value)).decode("ascii")}
    return f"<{type(value).__name__}>"


def _json_text(text: str) -> str:
    """`text` as it comes back from JSON: a surrogate pair (two code points in Python)
    reads back as the one character it encodes. Documents never hold them (pycrdt strings
    are UTF-8); hostile Python input may."""
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return text.encode("utf-16-le", "surrogatepass").decode("utf-16-le", "surrogatepass")
    return text


def _same_json(value: Any) -> str:
    """A comparison key: equal JSON values (1 and 1.0 included) give equal keys."""
    return json.dumps(json_safe(value), sort_keys=True)


def _lax(value: Any, depth: int = 0) -> Any:
    """Yjs numbers arrive as floats: integral ones become ints before validation. Keys are
    sorted, so that the first error msgspec reports does not depend on their order."""
    if isinstance(value, float) and value.is_integer() and abs(value) <= _SAFE_INT:
        return int(value)
    if depth < _MAX_DEPTH and isinstance(value, dict):
        items = sorted(value.items(), key=lambda item: str(item[0]))
        return {key: _lax(item, depth + 1) for key, item in items}
    if depth < _MAX_DEPTH and isinstance(value, list):
        return [_lax(item, depth + 1) for item in value]
    return value


_HINTS = {
    "phone": "expected a mobile number like 13800138000 or a landline like 0571-88888888",
    "id_number": "expected an 18-character ID number (17 digits and a digit or X)",
}
_UNSTORABLE_TEXT = re.compile(r"[\x00\ud800-\udfff]")
_UNSTORABLE = "contains NUL or an unpaired surrogate, which cannot be stored"
_NO_OFFSET = "a time needs its offset, like 2026-11-23T09:30:00+08:00"


def _convert(
    raw: Any, annotation: Any, *, strict: bool, path: str, label: str, issues: _Issues
) -> tuple[bool, Any]:
    """`(True, value)` converted to `annotation`, or `(False, None)` and an issue."""
    try:
        value = msgspec.convert(_lax(raw), annotation, strict=strict)
    except UnicodeEncodeError:  # msgspec parses times and ids as UTF-8
        issues.add(path, f"{label}: {_UNSTORABLE}" if label else _UNSTORABLE)
        return False, None
    except msgspec.ValidationError as error:
        message, at, where = str(error).rpartition(" - at `$")
        if not at:
            message, where = str(error), "`"
        if "matching regex" in message:
            message = _HINTS.get(path.rpartition(".")[2], _UNSTORABLE)
        elif "with a timezone component" in message:
            message = _NO_OFFSET
        issues.add(path + where[:-1], f"{label}: {message}" if label else message)
        return False, None
    if isinstance(value, datetime):
        try:
            return True, value.astimezone(UTC)
        except OverflowError:
            issues.add(path, f"{label}: time out of range")
            return False, None
    return True, value


@functools.cache
def _text_type(least: int, length: int) -> Any:
    # Built once per bound: making an Annotated type per value is costly.
    return Annotated[str, Meta(min_length=least, max_length=length, pattern=STORABLE)]


def _text(
    raw: Any, length: int, path: str, label: str, issues: _Issues, *, empty: bool = False
) -> str | None:
    if raw is None:
        issues.add(path, f"{label}: missing")
        return None
    least = 0 if empty else 1
    if type(raw) is str and least <= len(raw) <= length and not _UNSTORABLE_TEXT.search(raw):
        return raw  # the common case, without msgspec's per-call type lookup
    annotation = _text_type(least, length)
    ok, value = _convert(raw, annotation, strict=True, path=path, label=label, issues=issues)
    return value if ok else None


def _time(raw: Any, path: str, label: str, issues: _Issues) -> datetime | None:
    if raw is None:
        issues.add(path, f"{label}: missing")
        return None
    if type(raw) is str:  # the common case: a plain type is a cheaper lookup than Annotated
        try:
            parsed = msgspec.convert(raw, datetime, strict=True)
        except (msgspec.ValidationError, UnicodeEncodeError):
            parsed = None
        if parsed is not None and parsed.tzinfo is not None:
            try:
                return parsed.astimezone(UTC)
            except OverflowError:
                pass
    ok, value = _convert(raw, AwareDateTime, strict=True, path=path, label=label, issues=issues)
    return value if ok else None


def _column(value: Any) -> Any:
    """A converted value as SQL takes it: codes and ids as strings."""
    if isinstance(value, Enum):
        return value.value
    if isinstance(value, uuid.UUID):
        return str(value)
    return value


# --- meta and fields ---------------------------------------------------------------------


def _meta(meta: Any, issues: _Issues) -> tuple[RecordKind | None, str | None, Row]:
    if not isinstance(meta, dict):
        issues.add("meta", f"expected an object, got {_kind_of(meta)}")
        meta = {}
    kind = RecordKind.parse(meta.get("kind"))
    if kind is None:
        issues.add("meta.kind", f"记录类型: expected one of {RecordKind.choices()}")
    grid = _text(meta.get("grid"), GRID_LENGTH, "meta.grid", "网格", issues)
    head = {
        "grid": grid,
        "created_by": _text(
            meta.get("created_by"), AUTHOR_LENGTH, "meta.created_by", "创建人", issues
        ),
        "created_at": _time(meta.get("created_at"), "meta.created_at", "创建时间", issues),
    }
    return kind, grid, head


@dataclass(frozen=True)
class _Field:
    """How one field of a record Struct is converted and stored."""

    name: str
    label: str
    annotation: Any  # for msgspec.convert
    info: mi.Type  # its type, without `| None`
    nullable: bool
    required: bool
    default: Any

    @property
    def strict(self) -> bool:
        """Times, dates and ids are strings only (lax mode would take numbers as times)."""
        return isinstance(self.info, mi.DateTimeType | mi.DateType | mi.UUIDType)


@functools.cache
def _plan(cls: type[RecordFields]) -> tuple[_Field, ...]:
    struct = mi.type_info(cls)
    assert isinstance(struct, mi.StructType)
    infos = {field.name: field.type for field in struct.fields}
    plan = []
    for field in msgspec.structs.fields(cls):
        info = infos[field.name]
        nullable = isinstance(info, mi.UnionType) and any(
            isinstance(t, mi.NoneType) for t in info.types
        )
        if isinstance(info, mi.UnionType):
            info = next(t for t in info.types if not isinstance(t, mi.NoneType))
        _check(info)
        default = field.default if field.default_factory is msgspec.NODEFAULT else []
        label = cls.ZH.get(field.name, field.name)
        plan.append(_Field(field.name, label, field.type, info, nullable, field.required, default))
    return tuple(plan)


def _check(info: mi.Type) -> None:
    """Codes must be `Coded`; list fields hold objects (planned now) or codes."""
    if isinstance(info, mi.EnumType):
        _codes(info)
    if isinstance(info, mi.ListType):
        item = info.item_type
        if isinstance(item, mi.StructType) and issubclass(item.cls, RecordFields):
            _plan(item.cls)
        else:
            _codes(item)


def _fields(
    cls: type[RecordFields], raw: Any, path: str, issues: _Issues
) -> tuple[Row, dict[str, list[Row]]]:
    """The columns of object `raw` as `cls`, and the item rows of its list fields."""
    plan = _plan(cls)
    columns: Row = {}
    lists: dict[str, list[Row]] = {f.name: [] for f in plan if isinstance(f.info, mi.ListType)}
    if not isinstance(raw, dict):
        issues.add(path, f"expected an object, got {_kind_of(raw)}")
        for field in plan:
            if not isinstance(field.info, mi.ListType):
                columns.update(_field_columns(field, None, ok=False))
        return columns, lists
    names = {field.name for field in plan}
    for key in sorted((key for key in raw if key not in names), key=str):
        issues.add(path + _key(key), "unknown field: kept in the document, not projected")
    for field in plan:
        where = f"{path}.{field.name}"
        if isinstance(field.info, mi.ListType):
            if field.name in raw:
                lists[field.name] = _items(field, raw[field.name], where, issues)
            continue
        if field.name not in raw:
            if field.required:
                issues.add(where, f"{field.label}: required")
            ok, value = not field.required, field.default
        else:
            ok, value = _value(field, raw[field.name], where, issues)
        columns.update(_field_columns(field, value, ok=ok))
    return columns, lists


def _value(field: _Field, raw: Any, path: str, issues: _Issues) -> tuple[bool, Any]:
    if raw is None and not field.nullable:
        issues.add(path, f"{field.label}: must not be null")
        return False, None
    if raw is not None and isinstance(field.info, mi.EnumType):
        codes = _codes(field.info)
        member = codes.parse(raw)
        if member is None:
            issues.add(path, f"{field.label}: {_show(raw)} is not one of {codes.choices()}")
            return False, None
        return True, member
    return _convert(
        raw, field.annotation, strict=field.strict, path=path, label=field.label, issues=issues
    )


def _field_columns(field: _Field, value: Any, *, ok: bool) -> Row:
    """One column per field; a nested object (gps) flattens to `gps_lat`, `gps_lon`."""
    if isinstance(field.info, mi.StructType):
        parts = msgspec.structs.asdict(value) if ok and value is not None else {}
        return {f"{field.name}_{sub.name}": parts.get(sub.name) for sub in field.info.fields}
    return {field.name: _column(value) if ok else None}


def _items(field: _Field, raw: Any, path: str, issues: _Issues) -> list[Row]:
    """Rows for the items of a list field; every item gets a row, NULL where invalid."""
    assert isinstance(field.info, mi.ListType)
    if not isinstance(raw, list):
        issues.add(path, f"{field.label}: expected a list, got {_kind_of(raw)}")
        return []
    limit = field.info.max_length
    if limit is not None and len(raw) > limit:
        issues.add(path, f"{field.label}: more than {limit} items, only the first {limit} kept")
        raw = raw[:limit]
    item = field.info.item_type
    if isinstance(item, mi.StructType) and issubclass(item.cls, RecordFields):
        return [_fields(item.cls, entry, f"{path}[{i}]", issues)[0] for i, entry in enumerate(raw)]
    codes = _codes(item)
    column = CODE_COLUMNS.get(field.name, "value")
    rows = []
    for i, entry in enumerate(raw):
        member = codes.parse(entry)
        if member is None:
            message = f"{field.label}: {_show(entry)} is not one of {codes.choices()}"
            issues.add(f"{path}[{i}]", message)
        rows.append({column: member.value if member is not None else None})
    return rows


def _codes(info: mi.Type) -> type[Coded]:
    """The enumeration of a code field (checked when the plans are made, at import)."""
    if isinstance(info, mi.EnumType) and issubclass(info.cls, Coded):
        return info.cls
    raise TypeError(f"a list field of {info} is neither objects nor codes")


# --- notes, log and conflicts ------------------------------------------------------------


def _notes(doc_id: str, raw: Any, issues: _Issues) -> list[Row]:
    if not isinstance(raw, list):
        issues.add("notes", f"expected a list, got {_kind_of(raw)}")
        return []
    rows = [_note(doc_id, position, entry, issues) for position, entry in enumerate(raw)]
    first: dict[str, int] = {}
    for row in rows:
        note_id, position = row["note_id"], row["position"]
        if note_id is not None and first.setdefault(note_id, position) != position:
            issues.add(f"notes[{position}].id", f"duplicate note id (also notes[{first[note_id]}])")
    return rows


def _note(doc_id: str, position: int, raw: Any, issues: _Issues) -> Row:
    """A note's row: known keys in columns; whatever is not projected stays in `extra`."""
    path = f"notes[{position}]"
    row: Row = {"doc_id": doc_id, "position": position, "note_id": None, "by": None, "at": None}
    row.update(kind=None, method=None, text=None, extra={})
    if not isinstance(raw, dict):
        issues.add(path, f"expected an object, got {_kind_of(raw)}")
        row["extra"] = {"value": json_safe(raw)}
        return row
    kind = "note" if raw.get("kind") is None else raw["kind"]
    projected = {
        "id": ("note_id", _text(raw.get("id"), ID_LENGTH, f"{path}.id", "编号", issues)),
        "by": ("by", _text(raw.get("by"), AUTHOR_LENGTH, f"{path}.by", "记录人", issues)),
        "at": ("at", _time(raw.get("at"), f"{path}.at", "时间", issues)),
        "kind": ("kind", _text(kind, NOTE_KIND_LENGTH, f"{path}.kind", "类型", issues)),
        "text": (
            "text",
            _text(raw.get("text"), NOTE_TEXT_LENGTH, f"{path}.text", "内容", issues, empty=True),
        ),
        "method": ("method", _method(raw.get("method"), f"{path}.method", issues)),
    }
    extra = dict(raw)
    for key, (column, value) in projected.items():
        row[column] = value
        if value is not None or raw.get(key) is None:
            extra.pop(key, None)
    row["extra"] = json_safe(extra)
    return row


def _method(raw: Any, path: str, issues: _Issues) -> str | None:
    """A mediation note's method (上门 / 电话 / 调解室 / 现场), optional."""
    if raw is None:
        return None
    method = MediationMethod.parse(raw)
    if method is None:
        issues.add(path, f"调解方式: {_show(raw)} is not one of {MediationMethod.choices()}")
        return None
    return method.value


@dataclass(frozen=True)
class _Entry:
    """A log entry as the conflict graph sees it."""

    position: int
    id: str
    field: str
    value: Any
    prev: tuple[str, ...]
    by: Any
    at: Any


def _log(doc_id: str, raw: Any, issues: _Issues) -> tuple[list[Row], list[_Entry]]:
    """`field_history` rows, and the entries with a usable id and field for conflicts."""
    if not isinstance(raw, list):
        issues.add("log", f"expected a list, got {_kind_of(raw)}")
        return [], []
    rows: list[Row] = []
    graph: list[_Entry] = []
    first: dict[str, int] = {}
    for position, entry in enumerate(raw):
        path = f"log[{position}]"
        row: Row = {"doc_id": doc_id, "position": position, "entry_id": None, "field": None}
        row.update(value=None, by=None, at=None, prev=[], device=None)
        rows.append(row)
        if not isinstance(entry, dict):
            issues.add(path, f"expected an object, got {_kind_of(entry)}")
            continue
        row["entry_id"] = entry_id = _text(entry.get("id"), ID_LENGTH, f"{path}.id", "编号", issues)
        row["field"] = field = _text(entry.get("f"), FIELD_NAME_LENGTH, f"{path}.f", "字段", issues)
        if "v" not in entry:
            issues.add(f"{path}.v", "missing value")
        row["value"] = json_safe(entry.get("v"))
        row["by"] = _text(entry.get("by"), AUTHOR_LENGTH, f"{path}.by", "修改人", issues)
        row["at"] = _time(entry.get("at"), f"{path}.at", "时间", issues)
        if entry.get("device") is not None:  # optional: stock Yjs apps may not name one
            device = entry["device"]
            row["device"] = _text(device, DEVICE_ID_LENGTH, f"{path}.device", "设备", issues)
        prev = entry.get("prev")
        if not isinstance(prev, list) or not all(isinstance(p, str) for p in prev):
            issues.add(f"{path}.prev", "expected a list of entry ids")
        row["prev"] = json_safe(prev) if isinstance(prev, list) else []
        if entry_id is not None and first.setdefault(entry_id, position) != position:
            issues.add(f"{path}.id", f"duplicate entry id (also log[{first[entry_id]}])")
            continue
        if entry_id is not None and field is not None:
            ids = tuple(p for p in prev if isinstance(p, str)) if isinstance(prev, list) else ()
            by, at = json_safe(entry.get("by")), json_safe(entry.get("at"))
            graph.append(_Entry(position, entry_id, field, entry.get("v"), ids, by, at))
    return rows, graph


def _conflicts(doc_id: str, graph: list[_Entry], current: dict[str, Any]) -> list[Row]:
    """Open conflicts (≥2 heads of a field with different values) and resolved ones (an
    entry whose `prev` lists ≥2 entries with different values: it saw them all)."""
    by_field: dict[str, list[_Entry]] = {}
    for entry in graph:
        by_field.setdefault(entry.field, []).append(entry)
    rows: list[Row] = []
    for field in sorted(by_field):
        entries = by_field[field]
        by_id = {entry.id: entry for entry in entries}
        seen: set[str] = set()
        for entry in entries:
            prev = [by_id[p] for p in dict.fromkeys(entry.prev) if p in by_id and p != entry.id]
            seen.update(e.id for e in prev)
            if _differ(prev):
                rows.append(_conflict(doc_id, field, prev, current, resolved_by=entry.id))
        heads = [entry for entry in entries if entry.id not in seen]
        if _differ(heads):
            rows.append(_conflict(doc_id, field, heads, current, resolved_by=None))
    unique: dict[str, Row] = {}
    for row in rows:  # two entries resolving the same set: the first in the log counts
        unique.setdefault(row["conflict_id"], row)
    return list(unique.values())


def _differ(entries: list[_Entry]) -> bool:
    return len(entries) >= 2 and len({_same_json(entry.value) for entry in entries}) >= 2


def _conflict(
    doc_id: str, field: str, entries: list[_Entry], current: dict[str, Any], resolved_by: str | None
) -> Row:
    entries = sorted(entries, key=lambda entry: entry.position)
    ids = "\n".join(sorted(entry.id for entry in entries))
    return {
        "doc_id": doc_id,
        "conflict_id": hashlib.sha1(ids.encode("utf-8"), usedforsecurity=False).hexdigest(),
        "field": field,
        "status": "open" if resolved_by is None else "resolved",
        "entries": [
            {"entry_id": e.id, "value": json_safe(e.value), "by": e.by, "at": e.at} for e in entries
        ],
        "current_value": json_safe(current.get(field)),
        "resolved_by": resolved_by,
    }


for _kind_fields in RECORD_FIELDS.values():  # plan (and check) every record type at import
    _plan(_kind_fields)
