"""Query parameters several endpoints share, checked before any query sees them: a value a
database cannot hold is a client's mistake (400), not the database's (500)."""

from datetime import UTC, date, datetime
from typing import Annotated

from litestar.params import QueryParameter

from server.errors import ClientError

# What a BIGINT column holds (SQLite's INTEGER too). Past it SQLite raises OverflowError
# and PostgreSQL an out-of-range error, at the query.
MAX_ID = 2**63 - 1
# What an INTEGER column holds on PostgreSQL.
MAX_INTEGER = 2**31 - 1

# Keyset pages newest first: the `next` of the page before, an id this server gave.
Before = Annotated[
    int | None,
    QueryParameter(ge=1, le=MAX_ID, description="`next` of the previous page: older than this"),
]


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
