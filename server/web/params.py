"""Query parameters several endpoints share, checked before any query sees them: a value a
database cannot hold is a client's mistake (400), not the database's (500)."""

import re
from collections.abc import Iterable
from datetime import UTC, date, datetime
from typing import Annotated, Any

from litestar.params import QueryParameter

from server.errors import ClientError

# The largest id, sequence number or cursor a client may send: what JavaScript's Number
# (and a JSON schema's float bounds) hold exactly, far below what a BIGINT column holds.
# Past 2**63 - 1 SQLite raises OverflowError and PostgreSQL an out-of-range error.
MAX_ID = 2**53 - 1
# What an INTEGER column holds on PostgreSQL.
MAX_INTEGER = 2**31 - 1

# Keyset pages newest first: the `next` of the page before, an id this server gave. Not
# optional, so that the document shows its range; the default is older than every id.
Before = Annotated[
    int,
    QueryParameter(
        ge=1, le=MAX_ID, description="`next` of the previous page: the ids older than this"
    ),
]


# Text PostgreSQL cannot store (NUL) and UTF-8 cannot encode (lone surrogates), as in
# schemas/records.py: refused wherever a client sends it, on every database alike.
_UNSTORABLE = re.compile(r"[\x00\ud800-\udfff]")


def storable(where: str, values: Iterable[Any]) -> None:
    """Every string in `values` (and in the lists and objects among them) storable."""
    for value in values:
        if isinstance(value, str):
            if _UNSTORABLE.search(value):
                detail = f"{where} holds a NUL character or a lone surrogate"
                raise ClientError(400, "unstorable_text", detail)
        elif isinstance(value, dict):
            storable(where, [*value.keys(), *value.values()])
        elif isinstance(value, list | tuple):
            storable(where, value)


# The whole days a form may ask for: far from the ends of `date`, so that a day in
# Asia/Shanghai, the day after it and its period's start all stay dates.
FIRST_DAY, LAST_DAY = date(1900, 1, 1), date(2999, 12, 31)


def day(name: str, text: str) -> date:
    """A day of a form (`2026-11-23`), within FIRST_DAY..LAST_DAY."""
    try:
        parsed = date.fromisoformat(text)
    except ValueError as error:
        raise ClientError(400, "malformed_date", f"`{name}` is not a date: {text[:40]}") from error
    if not FIRST_DAY <= parsed <= LAST_DAY:
        raise ClientError(
            400, "date_out_of_range", f"`{name}` is not a day between {FIRST_DAY} and {LAST_DAY}"
        )
    return parsed


def aware(name: str, value: datetime | None) -> datetime | None:
    """A time with its offset that is a time in UTC too (years 1 to 9999 both ways)."""
    if value is None:
        return None
    if value.tzinfo is None:
        raise ClientError(
            400, "time_without_offset", f"give `{name}` with its offset: 2026-11-23T08:00+08:00"
        )
    try:
        value.astimezone(UTC)
    except OverflowError as error:
        raise ClientError(
            400, "time_out_of_range", f"`{name}` is not a time between the years 1 and 9999 UTC"
        ) from error
    return value
