"""A register's rows as households: columns by their zh-CN or English headers, each row
checked with the record schema (`schemas.decode`, the projection's own oracle).

A household's document id is derived from its grid and address (`household_id`): the same
row imported twice, from the same file or another, names the same document, so the second
import finds it and creates nothing. Addresses compare after Unicode normalisation (NFKC:
full-width digits and letters, as Chinese input methods type them, read as half-width),
case folding and without spaces.
"""

import re
import unicodedata
import uuid
from dataclasses import dataclass, field
from typing import Any

import msgspec

from schemas.decode import decode
from schemas.enums import HouseholdTag
from schemas.records import Household, Member

# Derives household ids from (grid, address): never change it, or re-imports duplicate.
NAMESPACE = uuid.UUID("6f1d8a4e-27c3-5b8e-9a51-3c0d7e2b4f10")
ADDRESS = ("compound", "building", "unit", "room")
REQUIRED = ("grid", "compound", "room")
TITLE_ROWS = 5  # rows above the header a register may have (a title, a date, a note)
COLUMNS = ("grid", *ADDRESS, "head_name", "phone", "members", "tags")
HEADERS: dict[str, tuple[str, ...]] = {
    "grid": ("网格", "网格编号", "网格代码", "所属网格", "grid", "grid code"),
    "compound": ("小区", "小区名称", "小区名", "村", "compound", "estate"),
    "building": ("楼栋", "楼号", "楼", "栋", "building"),
    "unit": ("单元", "单元号", "unit"),
    "room": ("室", "房号", "室号", "门牌号", "户号", "room"),
    "head_name": ("户主", "户主姓名", "head", "head name", "head of household"),
    "phone": ("联系电话", "电话", "手机", "手机号", "联系方式", "phone", "telephone", "mobile"),
    "members": ("家庭成员", "成员", "members"),
    "tags": ("标签", "重点人群", "人群标签", "tags"),
}
_LIST_SPLIT = re.compile(r"[,，、;；\n]+")
_MEMBER_SPLIT = re.compile(r"[;；\n]+")
# The zh-CN labels `decode` puts before its messages ("联系电话: expected …").
_LABELS = {*Household.ZH.values(), *Member.ZH.values()}


@dataclass(frozen=True, slots=True)
class RowError:
    row: int
    column: str | None  # a column of COLUMNS, or None for the whole row
    reason: str  # a code the console translates
    detail: str = ""  # the schema's message, or what the reason refers to


@dataclass(slots=True)
class Planned:
    """One good row: the household it creates (or finds)."""

    row: int
    doc_id: str
    grid: str
    fields: dict[str, Any]
    status: str = "new"  # new | imported (this id exists) | recorded (same address on a tablet)


@dataclass(slots=True)
class Checked:
    columns: dict[str, int]  # column → its index in the file
    ignored: list[str]  # headers not understood
    rows: int = 0  # the data rows below the header (blank ones left out)
    planned: list[Planned] = field(default_factory=list)
    errors: list[RowError] = field(default_factory=list)

    @property
    def rows_with_errors(self) -> int:
        return len({error.row for error in self.errors})


def _normal(text: str) -> str:
    return re.sub(r"[\s_]+", "", unicodedata.normalize("NFKC", text)).casefold()


_LOOKUP = {_normal(name): column for column, names in HEADERS.items() for name in names}


def address_key(grid: str, parts: dict[str, Any]) -> str:
    return "\n".join([_normal(grid), *(_normal(parts.get(name) or "") for name in ADDRESS)])


def household_id(grid: str, parts: dict[str, Any]) -> str:
    return str(uuid.uuid5(NAMESPACE, address_key(grid, parts)))


def map_columns(header: list[str]) -> tuple[dict[str, int], list[str], list[str]]:
    """(column → index, headers ignored, required columns missing)."""
    columns: dict[str, int] = {}
    ignored = []
    for index, name in enumerate(header):
        column = _LOOKUP.get(_normal(name).replace("(", "").replace(")", ""))
        if column is None or column in columns:
            ignored.append(name)
        else:
            columns[column] = index
    missing = [column for column in REQUIRED if column not in columns]
    return columns, [name for name in ignored if name], missing


def _members(text: str) -> list[dict[str, Any]]:
    """`李梅/配偶/1962；王小明/子女/2010/3101…`: name, relation, birth year, ID number."""
    found = []
    for item in _MEMBER_SPLIT.split(text):
        parts = [part.strip() or None for part in re.split(r"[/|｜]", item)]
        if not any(parts):
            continue
        member: dict[str, Any] = dict(zip(("name", "relation"), parts[:2], strict=False))
        if len(parts) > 2 and parts[2] is not None:
            member["birth_year"] = int(parts[2]) if parts[2].isdigit() else parts[2]
        if len(parts) > 3:
            member["id_number"] = parts[3]
        found.append({key: value for key, value in member.items() if value is not None})
    return found


def _tags(text: str) -> list[str]:
    tags = []
    for item in _LIST_SPLIT.split(text):
        if item.strip():
            member = HouseholdTag.parse(item)
            tags.append(member.value if member is not None else item.strip())
    return tags


def row_fields(cells: dict[str, str | None]) -> dict[str, Any]:
    """A row's `fields` as a tablet would write them (empty cells left out)."""
    found: dict[str, Any] = {}
    for column in ("compound", "building", "unit", "room", "head_name", "phone"):
        if cells.get(column):
            found[column] = cells[column]
    if cells.get("members"):
        found["members"] = _members(cells["members"] or "")
    if cells.get("tags"):
        found["tags"] = _tags(cells["tags"] or "")
    return found


def _schema_errors(number: int, grid: str, fields: dict[str, Any]) -> list[RowError]:
    """The schema's complaints, from the projection's decoder (only for a row msgspec
    refuses: decoding each row would be slow for a register of thousands)."""
    try:
        msgspec.convert(fields, Household)
        return []
    except msgspec.ValidationError:
        pass
    content = {"meta": {"kind": "household", "grid": grid}, "fields": fields}
    errors = []
    for issue in decode("00000000-0000-0000-0000-000000000000", content).issues:
        if not issue.path.startswith("fields."):
            continue
        column = re.split(r"[.\[]", issue.path.removeprefix("fields."))[0]
        label, colon, rest = issue.message.partition(": ")
        detail = rest if colon and label in _LABELS else issue.message
        errors.append(RowError(number, column, "invalid", detail))
    return errors


def _locate_header(
    header: list[str], rows: list[tuple[int, list[str | None]]]
) -> tuple[list[str], list[tuple[int, list[str | None]]]]:
    """Registers often open with a title row (“幸福社区住户台账”) above the header: the
    header is the first of the first rows that names every required column."""
    if not map_columns(header)[2]:
        return header, rows
    for index, (_, cells) in enumerate(rows[:TITLE_ROWS]):
        candidate = [cell or "" for cell in cells]
        if not map_columns(candidate)[2]:
            return candidate, rows[index + 1 :]
    return header, rows


def check_rows(
    header: list[str], rows: list[tuple[int, list[str | None]]], grids: frozenset[str]
) -> Checked:
    """Every row checked; `grids` are those the importer may write."""
    header, rows = _locate_header(header, rows)
    columns, ignored, missing = map_columns(header)
    checked = Checked(columns, ignored, len(rows))
    if missing:
        checked.errors.extend(RowError(1, column, "missing_column") for column in missing)
        return checked
    first_of: dict[str, int] = {}
    for number, cells in rows:
        named = {c: cells[i] if i < len(cells) else None for c, i in columns.items()}
        grid = named.get("grid") or ""
        errors = [RowError(number, c, "required") for c in REQUIRED if not named.get(c)]
        if grid and grid not in grids:
            errors.append(RowError(number, "grid", "grid_out_of_scope", grid))
        fields = row_fields(named)
        errors += _schema_errors(number, grid or "-", fields)
        doc_id = household_id(grid, fields)
        if not errors and doc_id in first_of:
            errors.append(RowError(number, None, "duplicate_row", str(first_of[doc_id])))
        if errors:
            checked.errors.extend(errors)
            continue
        first_of[doc_id] = number
        checked.planned.append(Planned(number, doc_id, grid, fields))
    return checked
