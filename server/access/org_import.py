"""Importing the org tree from CSV: the admin API's upload and `doorstep org import`.

The format (UTF-8; the byte-order mark Excel writes with "CSV UTF-8" is fine):

    code,name,level,parent
    LP,临平街道,street,
    LP-01,东湖社区,社区,LP
    LP-01-03,东湖三网格,grid,LP-01

- `code`: 1–64 letters, digits, `.`, `_` or `-`. It never changes: documents carry grid codes.
- `name`: 1–100 characters.
- `level`: `street`, `community` or `grid`, or 街道 / 社区 / 网格 (镇 and 村 are read as
  street and community).
- `parent`: empty for a street; a street for a community; a community for a grid (a grid
  may have none). The parent may be in the file or already in the tree.

Columns may come in any order and `parent` may be left out; rows may come in any order
(parents are put before children). A unit already in the tree with another parent is
moved, with another name renamed; units missing from the file are kept, never deleted.
If any row has an error, nothing is applied and every error is reported with its line.
"""

import csv
import io
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Protocol

import msgspec

from server.access.audit import Actor
from server.access.org import Level, Unit
from server.access.principal import Principal

COLUMNS = ("code", "name", "level", "parent")
REQUIRED_COLUMNS = ("code", "name", "level")
MAX_CODE, MAX_NAME = 64, 100
# Enough for a city; a bound keeps one upload from holding the write lock for long.
MAX_ROWS = 20_000
CODE = re.compile(r"[\w.-]+")
LEVEL_ALIASES = {"镇": Level.STREET, "村": Level.COMMUNITY}


class RowError(msgspec.Struct, frozen=True):
    line: int
    message: str


class ImportResult(msgspec.Struct):
    # What changed (or, in a dry run, would change): "org_unit.created LP-01", ...
    changes: list[str]
    errors: list[RowError]


class Tree(Protocol):
    """What the import needs of `OrgTree`."""

    async def units(self) -> dict[str, Unit]: ...

    async def put(self, units: Sequence[Unit], by: Actor | Principal) -> list[str]: ...


@dataclass(frozen=True, slots=True)
class Row:
    line: int
    unit: Unit


@dataclass(slots=True)
class Parsed:
    rows: list[Row] = field(default_factory=list)
    errors: list[RowError] = field(default_factory=list)
    # The first line of every code, to report duplicates.
    lines: dict[str, int] = field(default_factory=dict)
    # Codes of rows refused, with their line: their children are reported as such.
    refused: dict[str, int] = field(default_factory=dict)


async def import_units(
    org: Tree, csv_text: str, by: Actor | Principal, *, dry_run: bool
) -> ImportResult:
    """Create, rename and move units as the file says; all or nothing."""
    parsed = parse_csv(csv_text)
    existing = await org.units()
    errors = parsed.errors + check_tree(parsed, existing)
    if errors:
        return ImportResult([], sorted(errors, key=lambda error: error.line))
    units = [row.unit for row in sorted(parsed.rows, key=_parents_first)]
    if dry_run:
        return ImportResult(plan(units, existing), [])
    return ImportResult(await org.put(units, by), [])


def _parents_first(row: Row) -> tuple[int, int]:
    return list(Level).index(row.unit.level), row.line


def parse_csv(text: str) -> Parsed:
    """The file's rows as units, and what is wrong with each row on its own."""
    parsed = Parsed()
    reader = csv.reader(io.StringIO(text.removeprefix("\ufeff")))
    try:
        columns = _header(next(reader, []), parsed)
        if columns is None:
            return parsed
        for cells in reader:
            if any(cell.strip() for cell in cells):
                _parse_row(reader.line_num, cells, columns, parsed)
    except csv.Error as error:
        parsed.errors.append(RowError(reader.line_num, f"not readable as CSV: {error}"))
    if len(parsed.lines) > MAX_ROWS:
        parsed.errors.append(RowError(reader.line_num, f"more than {MAX_ROWS} rows"))
    return parsed


def _header(cells: list[str], parsed: Parsed) -> dict[str, int] | None:
    names = [cell.strip().lower() for cell in cells]
    unknown = [name for name in names if name and name not in COLUMNS]
    missing = [name for name in REQUIRED_COLUMNS if name not in names]
    twice = sorted({name for name in names if name and names.count(name) > 1})
    if unknown or missing or twice:
        problems = [f"unknown column {name!r}" for name in unknown]
        problems += [f"no column {name!r}" for name in missing]
        problems += [f"column {name!r} twice" for name in twice]
        expected = ",".join(COLUMNS)
        parsed.errors.append(RowError(1, f"header: {'; '.join(problems)} (expected {expected})"))
        return None
    return {name: index for index, name in enumerate(names) if name}


def _parse_row(line: int, cells: list[str], columns: dict[str, int], parsed: Parsed) -> None:
    code, name, level_text, parent = (_cell(cells, columns, column) for column in COLUMNS)
    level = Level.parse(level_text.lower()) or LEVEL_ALIASES.get(level_text)
    problems = _code_problems("code", code) + _code_problems("parent", parent, optional=True)
    problems += _name_problems(name) + _extra_cells(cells, columns)
    if level is None:
        problems.append(f"level {level_text!r} is not street, community or grid (街道/社区/网格)")
    first = parsed.lines.get(code) if code else None
    if first is not None:
        problems.append(f"code {code} is already on line {first}")
    elif code:
        parsed.lines[code] = line
    if problems or level is None:
        parsed.errors.extend(RowError(line, problem) for problem in problems)
        if code and first is None:
            parsed.refused[code] = line
        return
    parsed.rows.append(Row(line, Unit(code, name, level, parent or None)))


def _cell(cells: list[str], columns: dict[str, int], name: str) -> str:
    index = columns.get(name)
    return cells[index].strip() if index is not None and index < len(cells) else ""


def _extra_cells(cells: list[str], columns: dict[str, int]) -> list[str]:
    used = set(columns.values())
    if any(value.strip() for index, value in enumerate(cells) if index not in used):
        return [f"more cells than the {len(columns)} columns of the header"]
    return []


def _name_problems(name: str) -> list[str]:
    if not name:
        return ["empty name"]
    if len(name) > MAX_NAME:
        return [f"name longer than {MAX_NAME} characters"]
    return []


def _code_problems(column: str, value: str, *, optional: bool = False) -> list[str]:
    if not value:
        return [] if optional else [f"empty {column}"]
    if len(value) > MAX_CODE:
        return [f"{column} longer than {MAX_CODE} characters"]
    if not CODE.fullmatch(value):
        return [f"{column} {value!r} may hold only letters, digits, '.', '_' and '-'"]
    return []


def check_tree(parsed: Parsed, existing: Mapping[str, Unit]) -> list[RowError]:
    """What is wrong with the rows as a tree: levels and parents, against file and table."""
    level_of = {code: unit.level for code, unit in existing.items()}
    level_of.update({row.unit.code: row.unit.level for row in parsed.rows})
    errors: list[RowError] = []
    for row in parsed.rows:
        problem = _tree_problem(row.unit, existing.get(row.unit.code), level_of, parsed.refused)
        if problem:
            errors.append(RowError(row.line, problem))
    return errors


def _tree_problem(
    unit: Unit, old: Unit | None, level_of: Mapping[str, Level], refused: Mapping[str, int]
) -> str | None:
    if old is not None and old.level != unit.level:
        return f"{unit.code} is a {old.level} in the tree; a unit keeps its level"
    wanted = unit.level.parent_level
    if unit.parent is None:
        return "a community needs a parent street" if unit.level is Level.COMMUNITY else None
    if wanted is None:
        return "a street has no parent"
    if unit.parent in refused:
        return f"parent {unit.parent} has an error on line {refused[unit.parent]}"
    found = level_of.get(unit.parent)
    if found is None:
        return f"parent {unit.parent} is neither in the file nor in the tree"
    if found != wanted:
        return f"a {unit.level}'s parent is a {wanted}, and {unit.parent} is a {found}"
    return None


def plan(units: Sequence[Unit], existing: Mapping[str, Unit]) -> list[str]:
    """The changes `OrgTree.put(units)` would make, worded as it words them."""
    changes: list[str] = []
    for unit in units:
        old = existing.get(unit.code)
        if old is None:
            changes.append(f"org_unit.created {unit.code}")
        elif old.parent != unit.parent:
            changes.append(f"org_unit.moved {unit.code}")
        elif old.name != unit.name:
            changes.append(f"org_unit.renamed {unit.code}")
    return changes
