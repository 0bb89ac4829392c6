"""Free-text search in the record lists (`q=`): every word must appear in one of the kind's
text columns, case-insensitively, as a plain substring (`%` and `_` mean themselves).

Columns of personal data (phone, ID number, a party's contact) are searched only for a
caller with the right to see them in full: the lists show them masked, and a search that
matched them would tell a masked number digit by digit. Related rows (a visit's household,
a household's members, a case's parties) are searched within the caller's grids only.
"""

from collections.abc import Sequence
from typing import Any

import sqlalchemy as sa

from server.db.record_tables import case_parties, cases, household_members, households, visits
from server.errors import ClientError

MAX_QUERY = 200
MAX_WORDS = 8
ADDRESS = ("compound", "building", "unit", "room", "head_name")


def words(q: str | None) -> list[str]:
    """The words of a search, checked: blank is no search."""
    if q is None or not q.strip():
        return []
    if len(q) > MAX_QUERY:
        raise ClientError(400, "search_too_long", f"a search is at most {MAX_QUERY} characters")
    found = list(dict.fromkeys(q.split()))
    if len(found) > MAX_WORDS:
        raise ClientError(400, "search_too_long", f"a search is at most {MAX_WORDS} words")
    return found


def _like(column: sa.ColumnElement[Any], word: str) -> sa.ColumnElement[bool]:
    escaped = word.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return column.ilike(f"%{escaped}%", escape="\\")


def _any(columns: Sequence[sa.ColumnElement[Any]], word: str) -> sa.ColumnElement[bool]:
    return sa.or_(*(_like(column, word) for column in columns))


def _households_matching(word: str, grids: list[str], personal: bool) -> sa.Select[tuple[str]]:
    columns = [households.c[name] for name in ADDRESS]
    if personal:
        columns.append(households.c.phone)
    return sa.select(households.c.doc_id).where(households.c.grid.in_(grids), _any(columns, word))


def _word(table: sa.Table, word: str, grids: list[str], personal: bool) -> sa.ColumnElement[bool]:
    """Where a record of `table` mentions `word`."""
    if table is households:
        member_columns = [household_members.c.name]
        if personal:
            member_columns.append(household_members.c.id_number)
        members = sa.select(household_members.c.doc_id).where(_any(member_columns, word))
        return sa.or_(
            table.c.doc_id.in_(_households_matching(word, grids, personal)),
            table.c.doc_id.in_(members),
        )
    if table is visits:
        own = _any([table.c.visitor, table.c.created_by, table.c.findings], word)
        return sa.or_(own, table.c.household.in_(_households_matching(word, grids, personal)))
    if table is cases:
        party_columns = [case_parties.c.name]
        if personal:
            party_columns.append(case_parties.c.contact)
        parties = sa.select(case_parties.c.doc_id).where(_any(party_columns, word))
        own = _any([table.c.title, table.c.place, table.c.description], word)
        return sa.or_(own, table.c.doc_id.in_(parties))
    raise ValueError(f"no search for {table.name}")


def search_clauses(
    table: sa.Table, q: str | None, grids: list[str], *, personal: bool
) -> list[sa.ColumnElement[bool]]:
    """One clause per word of `q`; the rows are limited to `grids` by the caller."""
    return [_word(table, word, grids, personal) for word in words(q)]
