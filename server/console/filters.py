"""A list page's filter form (GET parameters) as the read API's `ListQuery`.

A form sends every field, blank ones as empty strings: blank means "any". Dates are whole
days in Asia/Shanghai; "until" includes its day.
"""

from collections.abc import Mapping
from datetime import date, datetime, time, timedelta

from server.console.render import SHANGHAI
from server.errors import ClientError
from server.records_api import MAX_PAGE, Kind, ListQuery

PAGE = 50
TRI_STATE = {"yes": True, "no": False}


def _text(params: Mapping[str, str], name: str) -> str | None:
    value = params.get(name, "").strip()
    return value[:200] or None


def _day(params: Mapping[str, str], name: str) -> datetime | None:
    value = _text(params, name)
    if value is None:
        return None
    try:
        return datetime.combine(date.fromisoformat(value), time(), SHANGHAI)
    except ValueError as error:
        raise ClientError(400, "malformed_date", f"`{name}` is not a date: {value}") from error


def _flag(params: Mapping[str, str], name: str) -> bool | None:
    return TRI_STATE.get(params.get(name, ""))


def list_query(kind: Kind, params: Mapping[str, str]) -> ListQuery:
    """The query for `params`; filters this kind does not have are ignored."""
    until = _day(params, "until")
    exact = {name: value for name in kind.filters if (value := _text(params, name))}
    return ListQuery(
        grid=_text(params, "grid"),
        member=_text(params, "member"),
        since=_day(params, "since"),
        until=until + timedelta(days=1) if until else None,
        exact=exact,
        has_conflict=_flag(params, "has_conflict"),
        has_issues=_flag(params, "has_issues"),
        limit=min(PAGE, MAX_PAGE),
        after=_text(params, "after"),
    )


def form_values(params: Mapping[str, str]) -> dict[str, str]:
    """What the form shows again: the parameters as given, without the page token."""
    return {name: value for name, value in params.items() if name not in ("after", "lang")}
