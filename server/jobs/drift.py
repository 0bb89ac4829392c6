"""How a document's SQL rows differ from the rows its decoding says they should be.

Values are compared as what they mean, not as each database hands them back: times as
instants, numbers as numbers (Yjs numbers are floats; an INTEGER column gives ints back),
JSON structurally, to a bounded depth: decoded values are cut at `schemas.decode`'s depth,
so a stored value nested deeper is not what the projection writes, and differs.
"""

import math
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import sqlalchemy as sa

Row = dict[str, Any]
# Deeper than any value the projection writes (schemas.decode cuts values at 64 levels).
MAX_DEPTH = 80


@dataclass(slots=True)
class RowDrift:
    """One document's drift in one table."""

    missing: int = 0
    extra: int = 0
    differing: int = 0
    columns: set[str] = field(default_factory=set)

    def __bool__(self) -> bool:
        return bool(self.missing or self.extra or self.differing)

    def shown(self) -> dict[str, Any]:
        shown: dict[str, Any] = {
            name: count
            for name, count in (
                ("missing", self.missing),
                ("extra", self.extra),
                ("differing", self.differing),
            )
            if count
        }
        if self.columns:
            shown["columns"] = sorted(self.columns)
        return shown


@dataclass(slots=True)
class TableDrift:
    """Rows repaired in one table over a whole run."""

    missing: int = 0
    extra: int = 0
    differing: int = 0
    # rows of documents that do not exist, deleted
    orphans: int = 0

    def add(self, drift: RowDrift) -> None:
        self.missing += drift.missing
        self.extra += drift.extra
        self.differing += drift.differing

    def figures(self) -> dict[str, int]:
        return {
            "missing": self.missing,
            "extra": self.extra,
            "differing": self.differing,
            "orphans": self.orphans,
        }


def differences(table: sa.Table, expected: list[Row], actual: list[Row]) -> RowDrift:
    """Rows matched by primary key; a column the decoding leaves out is expected NULL."""
    key = [column.name for column in table.primary_key.columns]
    wanted = {tuple(row[k] for k in key): row for row in expected}
    stored = {tuple(row[k] for k in key): row for row in actual}
    drift = RowDrift()
    drift.missing = len(wanted.keys() - stored.keys())
    drift.extra = len(stored.keys() - wanted.keys())
    names = [column.name for column in table.columns]
    for found_key in wanted.keys() & stored.keys():
        want, have = wanted[found_key], stored[found_key]
        if want == have or all(want.get(name) == have.get(name) for name in names):
            continue  # equal as Python sees it (1 == 1.0): the usual case, and cheap
        columns = {name for name in names if not same(want.get(name), have.get(name))}
        if columns:
            drift.differing += 1
            drift.columns |= columns
    return drift


def same(expected: Any, stored: Any, depth: int = 0) -> bool:
    if depth > MAX_DEPTH:
        return False
    if isinstance(expected, bool) or isinstance(stored, bool):
        return expected is stored or (expected == stored and type(expected) is type(stored))
    if _number(expected) and _number(stored):
        return math.isclose(expected, stored, rel_tol=1e-12, abs_tol=0.0)
    if isinstance(expected, datetime) and isinstance(stored, datetime):
        if (expected.tzinfo is None) != (stored.tzinfo is None):
            return False
        return expected == stored
    if isinstance(expected, dict) and isinstance(stored, dict):
        return expected.keys() == stored.keys() and all(
            same(value, stored[name], depth + 1) for name, value in expected.items()
        )
    if isinstance(expected, list | tuple) and isinstance(stored, list | tuple):
        return len(expected) == len(stored) and all(
            same(a, b, depth + 1) for a, b in zip(expected, stored, strict=True)
        )
    return bool(expected == stored) and type(expected) is type(stored)


def _number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)
