"""A list page's filter form (GET parameters) as the read API's `ListQuery`.

A form sends every field, blank ones as empty strings: blank means "any". Dates are whole
days in Asia/Shanghai; "until" includes its day. A coded value the form does not offer is
refused (a saved view from an older version must say what is wrong, not show nothing).
"""

from collections.abc import Mapping
from datetime import datetime, time, timedelta

from server.console.i18n import CHINESE_LABELS, CODED
from server.console.render import SHANGHAI
from server.errors import ClientError
from server.records.api import MAX_PAGE, Kind, ListQuery
from server.records.search import MAX_QUERY, words
from server.web.params import day

PAGE = 50
TRI_STATE = {"yes": True, "no": False}
# The filters of every list, beyond the kind's own (`Kind.filters`).
COMMON = ("q", "grid", "member", "since", "until", "has_conflict", "has_issues")


def _text(params: Mapping[str, str], name: str) -> str | None:
    value = params.get(name, "").strip()
    return value[:200] or None


def _day(params: Mapping[str, str], name: str) -> datetime | None:
    value = _text(params, name)
    if value is None:
        return None
    return datetime.combine(day(name, value), time(), SHANGHAI)


def _flag(params: Mapping[str, str], name: str) -> bool | None:
    value = params.get(name, "")
    if value and value not in TRI_STATE:
        raise ClientError(400, "unknown_value", f"`{name}` is yes, no or blank, not {value}")
    return TRI_STATE.get(value)


def _known(kind: Kind, name: str, value: str) -> str:
    column = kind.filters[name]
    codes = CHINESE_LABELS if column == "review_state" else CODED.get(column)
    if codes is not None and value not in {str(code) for code in codes}:
        raise ClientError(400, "unknown_value", f"`{name}` cannot be {value}")
    return value


def _search(params: Mapping[str, str]) -> str | None:
    value = params.get("q", "").strip()
    if len(value) > MAX_QUERY:  # refused, not cut: a shorter search finds something else
        raise ClientError(400, "search_too_long", f"a search is at most {MAX_QUERY} characters")
    return value if words(value) else None


def list_query(kind: Kind, params: Mapping[str, str], *, personal: bool = False) -> ListQuery:
    """The query for `params`; filters this kind does not have are ignored. `personal`: the
    caller may search personal data (server/records/search.py)."""
    until = _day(params, "until")
    exact = {
        name: _known(kind, name, value) for name in kind.filters if (value := _text(params, name))
    }
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
        q=(q := _search(params)),
        personal=personal if q else None,
    )


def form_values(kind: Kind, params: Mapping[str, str]) -> dict[str, str]:
    """What the form shows again (and a saved view keeps): the filters given, without blanks,
    the page token or anything else in the address."""
    known = {*COMMON, *kind.filters}
    given = ((name, value.strip()) for name, value in params.items() if name in known)
    return {name: value for name, value in given if value}
