"""Saved views: a person's named list filters, listed on the list page as links.

A view keeps the kind and the list's filters as a query string (`form_values`: known
filters only). It is private to its account: another account's view is "not found". Its
filters are checked when it is saved and again when it is opened (a view that no longer
makes sense, such as a grid gone from the account's area, is an error page saying so, not
an empty list); the records it shows are always the account's grids as they are then.
"""

import uuid
from dataclasses import dataclass
from typing import Any, Literal
from urllib.parse import parse_qsl, urlencode

import sqlalchemy as sa
from litestar import Request, get, post
from litestar.datastructures import State
from litestar.params import FromPath
from litestar.response import Redirect

from server.access.principal import Principal
from server.access.roles import Permission
from server.console.filters import form_values, list_query
from server.db.console_tables import VIEW_NAME, saved_views
from server.db.engine import write_transaction
from server.errors import ClientError
from server.records.api import KINDS
from server.web.dependencies import Caller, Services, ServicesDep

KindName = Literal["visits", "cases", "households"]
MAX_VIEWS = 50  # per account and list
MAX_QUERY = 2000


@dataclass(frozen=True, slots=True)
class SavedView:
    id: str
    name: str
    query: str


def _account(caller: Principal) -> str:
    caller.require(Permission.READ_RECORDS)
    if caller.account_id is None:
        raise ClientError(403, "account_required", "saved views belong to a person's account")
    return caller.account_id


def checked(kind: str, query: str, caller: Principal) -> str:
    """`query` as the list reads it (known filters only), or a 400 saying what is wrong."""
    if len(query) > MAX_QUERY:
        raise ClientError(400, "view_too_long", "these filters are too long to save")
    params = dict(parse_qsl(query.lstrip("?")))
    list_query(KINDS[kind], params)  # refuses a bad date, an unknown code, a long search
    values = form_values(KINDS[kind], params)
    grid = values.get("grid")
    if grid is not None and grid not in caller.grids:
        raise ClientError(400, "grid_out_of_scope", f"grid {grid} is not in your area")
    return urlencode(values)


async def views_of(services: Services, caller: Principal, kind: str) -> list[SavedView]:
    """The caller's views of one list, by name."""
    if caller.account_id is None:
        return []
    async with services.database.connect() as connection:
        rows = await connection.execute(
            sa.select(saved_views.c.id, saved_views.c.name, saved_views.c.query)
            .where(saved_views.c.account_id == caller.account_id, saved_views.c.kind == kind)
            .order_by(saved_views.c.name)
        )
        return [SavedView(row.id, row.name, row.query) for row in rows]


def _name(form: Any) -> str:
    value = form.get("name")
    name = value.strip() if isinstance(value, str) else ""
    if not name or len(name) > VIEW_NAME:
        detail = f"give the view a name (at most {VIEW_NAME} characters)"
        raise ClientError(400, "view_name", detail)
    return name


@post("/console/{kind:str}/views", include_in_schema=False, status_code=303)
async def save_view(
    request: Request[Any, Any, State],
    kind: FromPath[KindName],
    services: ServicesDep,
    caller: Caller,
) -> Redirect:
    """Save the list's filters (`query`, the list page's query string) under `name`; the
    account's view of that name on this list is replaced."""
    account = _account(caller)
    form = await request.form()
    name = _name(form)
    query = form.get("query")
    query = checked(kind, query if isinstance(query, str) else "", caller)
    mine = (saved_views.c.account_id == account) & (saved_views.c.kind == kind)
    async with write_transaction(services.database) as connection:
        await connection.execute(saved_views.delete().where(mine, saved_views.c.name == name))
        count = await connection.scalar(
            sa.select(sa.func.count()).select_from(saved_views).where(mine)
        )
        if (count or 0) >= MAX_VIEWS:
            raise ClientError(400, "too_many_views", f"at most {MAX_VIEWS} views per list")
        await connection.execute(
            saved_views.insert().values(
                id=str(uuid.uuid4()), account_id=account, kind=kind, name=name, query=query
            )
        )
    return Redirect(f"/console/{kind}?{query}", status_code=303)


async def _own(services: Services, caller: Principal, view_id: str) -> Any:
    account = _account(caller)
    async with services.database.connect() as connection:
        row = (
            await connection.execute(
                sa.select(saved_views).where(
                    saved_views.c.id == view_id[:36], saved_views.c.account_id == account
                )
            )
        ).first()
    if row is None:
        raise ClientError(404, "unknown_view", "no such saved view")
    return row


@get("/console/views/{view_id:str}", include_in_schema=False, status_code=303)
async def open_view(view_id: FromPath[str], services: ServicesDep, caller: Caller) -> Redirect:
    """To the list with the view's filters, checked again."""
    view = await _own(services, caller, view_id)
    try:
        query = checked(view.kind, view.query, caller)
    except ClientError as error:
        raise ClientError(error.status, error.reason, f"“{view.name}”: {error.detail}") from error
    return Redirect(f"/console/{view.kind}?{query}", status_code=303)


@post("/console/views/{view_id:str}/delete", include_in_schema=False, status_code=303)
async def delete_view(view_id: FromPath[str], services: ServicesDep, caller: Caller) -> Redirect:
    view = await _own(services, caller, view_id)
    async with write_transaction(services.database) as connection:
        await connection.execute(saved_views.delete().where(saved_views.c.id == view.id))
    return Redirect(f"/console/{view.kind}#views", status_code=303)


ROUTES = [save_view, open_view, delete_view]
