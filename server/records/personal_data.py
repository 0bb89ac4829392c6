"""Personal data (PIPL): ID numbers, phone numbers and party contacts, masked by default.

Pure functions over JSON-like rows, shared by the read API and the exports. A value is
masked wherever its key is sensitive, at any depth: a household's `phone`, a member's
`id_number` in a child row, or inside a field's history (`members` holds the members as
written). A caller with `Permission.PERSONAL_DATA` may ask for the values in full; that
is audited where it happens, not here.
"""

import re
from collections.abc import Mapping
from typing import Any

SENSITIVE_KEYS = frozenset({"phone", "id_number", "contact"})
KEEP_HEAD, KEEP_TAIL = 3, 4
# Runs of digits as long as a phone number or longer (an ID number may end in X), for text
# that may echo a value, such as a validation message.
_NUMBER_IN_TEXT = re.compile(r"\d{7,}[0-9Xx]?")


def mask(value: str) -> str:
    """`13812345678` → `138****5678`: enough to tell two apart; short ones fully starred."""
    if len(value) <= KEEP_HEAD + KEEP_TAIL:
        return "*" * len(value)
    hidden = len(value) - KEEP_HEAD - KEEP_TAIL
    return value[:KEEP_HEAD] + "*" * hidden + value[-KEEP_TAIL:]


def mask_value(value: Any) -> Any:
    """Every scalar in `value` masked: a sensitive key may hold a number, a list or an object."""
    if value is None or isinstance(value, bool):
        return value
    if isinstance(value, str):
        return mask(value)
    if isinstance(value, int | float):
        return mask(str(value))
    if isinstance(value, Mapping):
        return {key: mask_value(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [mask_value(item) for item in value]
    return value


def mask_row(row: Mapping[str, Any]) -> dict[str, Any]:
    """`row` with the value of every sensitive key masked, at any depth."""
    return {
        key: mask_value(value) if key in SENSITIVE_KEYS else _mask_inside(value)
        for key, value in row.items()
    }


def _mask_inside(value: Any) -> Any:
    if isinstance(value, Mapping):
        return mask_row(value)
    if isinstance(value, list | tuple):
        return [_mask_inside(item) for item in value]
    return value


def mask_written(field: str | None, value: Any) -> Any:
    """A value as written to record field `field` (history, conflicts): masked if the field
    is sensitive, or wherever it holds sensitive keys (the `members` and `parties` lists)."""
    if field in SENSITIVE_KEYS:
        return mask_value(value)
    return _mask_inside(value)


def mask_text(text: str) -> str:
    """Free text with anything shaped like a phone or ID number masked."""
    return _NUMBER_IN_TEXT.sub(lambda found: mask(found.group()), text)
