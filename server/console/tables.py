"""What a list shows of each record, and how a detail page shows a value, in one language."""

import json
from datetime import datetime
from typing import Any

from schemas.decode import json_safe
from server.console.i18n import CODED, Lang, label, translate
from server.console.render import local_time

COLUMNS = {
    "visits": ["created_at", "grid", "visitor", "purpose", "findings", "review_state"],
    "cases": ["created_at", "grid", "title", "type", "level", "status", "review_state"],
    "households": ["address", "head_name", "phone", "grid", "created_at", "review_state"],
}
# The filters each list's form offers beyond grid, member, dates and the flags.
FILTERS = {"visits": ["purpose"], "cases": ["type", "level", "status"], "households": []}
TIMES = frozenset({"created_at", "visited_at", "occurred_at", "at"})
LONG_TEXT = 60


def _address(row: dict[str, Any]) -> str:
    parts = (row.get(name) for name in ("compound", "building", "unit", "room"))
    return " ".join(part for part in parts if part)


def cell(lang: Lang, column: str, row: dict[str, Any]) -> str:
    """One cell of a list row: coded values as labels, times in Asia/Shanghai."""
    if column == "address":
        return _address(row)
    value = row.get(column)
    if column == "visitor":  # left blank on the tablet: whoever created the visit
        value = value or row.get("created_by")
    if column == "review_state":
        return label(lang, column, value) if value else translate(lang, "not_reviewed")
    if column in CODED:
        return label(lang, column, value)
    if column in TIMES:
        return local_time(value)
    text = "" if value is None else str(value)
    return text if len(text) <= LONG_TEXT else text[: LONG_TEXT - 1] + "…"


def shown(lang: Lang, column: str, value: Any) -> str:
    """A value on the detail page: labels for codes, local times, JSON for lists and maps."""
    if column in CODED or column == "review_state":
        return label(lang, column, value)
    if column in TIMES or isinstance(value, datetime):
        return local_time(_parsed_time(value))
    if isinstance(value, dict | list):  # cut at a bounded depth: never recursing without end
        return json.dumps(json_safe(value), ensure_ascii=False)
    if isinstance(value, bool):
        return translate(lang, "yes" if value else "no")
    return "" if value is None else str(value)


def _parsed_time(value: Any) -> Any:
    """Log entries keep their time as written (ISO text with its offset)."""
    if isinstance(value, str):
        try:
            return datetime.fromisoformat(value)
        except ValueError:
            return value
    return value


def rows_of(lang: Lang, kind: str, items: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [
        {
            "doc_id": item["doc_id"],
            "cells": [cell(lang, column, item) for column in COLUMNS[kind]],
            "has_conflict": item.get("has_conflict"),
            "issue_count": item.get("issue_count") or 0,
        }
        for item in items
    ]
