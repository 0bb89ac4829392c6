"""Record pages: lists with the read API's filters, search and saved views, and one record
in detail (a household's with its visits; the field history with the device of each write).

Both read through `server.records.api` (the caller's grids only; a record elsewhere is
"not found"), mask personal data, and are audited like the API's reads.
"""

from typing import Any, Literal
from urllib.parse import urlencode

from litestar import Request, get
from litestar.datastructures import State
from litestar.params import FromPath
from litestar.response import Template

from server.access.roles import Permission
from server.console.filters import form_values, list_query
from server.console.i18n import choices
from server.console.related import device_names, household_visits
from server.console.render import lang_of, page
from server.console.review import panel as review_panel
from server.console.tables import COLUMNS, FILTERS, rows_of, shown
from server.console.views import views_of
from server.errors import ClientError
from server.records.api import KINDS, audit_list, audit_view, masked, record_detail
from server.records.api import list_records as read_list
from server.records.personal_data import mask_row
from server.records.stored import UNREADABLE_PATH
from server.web.dependencies import Caller, ServicesDep

KindName = Literal["visits", "cases", "households"]


def _partial(request: Request[Any, Any, State]) -> bool:
    """An htmx filter swap wants the table only; a history restore wants the whole page."""
    headers = request.headers
    return bool(headers.get("hx-request")) and not headers.get("hx-history-restore-request")


@get("/console/{kind:str}", include_in_schema=False)
async def record_list(
    request: Request[Any, Any, State],
    kind: FromPath[KindName],
    services: ServicesDep,
    caller: Caller,
) -> Template:
    caller.require(Permission.READ_RECORDS)
    params = dict(request.query_params.items())
    personal = caller.can(Permission.PERSONAL_DATA)  # may the search match phone numbers
    query = list_query(KINDS[kind], params, personal=personal)
    async with services.database.connect() as connection:
        found = await read_list(connection, KINDS[kind], caller.grids, query)
    await audit_list(services, caller, kind, query, [item["doc_id"] for item in found.items])
    lang = lang_of(request)
    values = form_values(KINDS[kind], params)
    next_url = (
        f"/console/{kind}?{urlencode({**values, 'after': found.next})}" if found.next else None
    )
    return page(
        request,
        "table.html" if _partial(request) else "list.html",
        caller,
        kind=kind,
        columns=COLUMNS[kind],
        rows=rows_of(lang, kind, [mask_row(item) for item in found.items]),
        next_url=next_url,
        values=values,
        grids=sorted(caller.grids),
        filters=[(name, choices(lang, name)) for name in FILTERS[kind]],
        reviews=choices(lang, "review_state"),
        query=urlencode(values),
        views=await views_of(services, caller, kind),
        can_review=caller.can(Permission.REVIEW),
        bulk=_bulk_outcome(params),
    )


def _bulk_outcome(params: dict[str, str]) -> dict[str, int] | None:
    """How many records the bulk approval just approved and skipped (from its redirect)."""
    counts = {name: params.get(name, "") for name in ("approved", "skipped")}
    if not all(value.isascii() and value.isdigit() for value in counts.values()):
        return None
    return {name: int(value) for name, value in counts.items()}


@get("/console/{kind:str}/{doc_id:str}", include_in_schema=False)
async def record_page(
    request: Request[Any, Any, State],
    kind: FromPath[KindName],
    doc_id: FromPath[str],
    services: ServicesDep,
    caller: Caller,
) -> Template:
    caller.require(Permission.READ_RECORDS)
    try:
        async with services.database.connect() as connection:
            detail = masked(await record_detail(connection, KINDS[kind], caller.grids, doc_id))
    except ClientError:
        await audit_view(services, caller, kind, doc_id, found=False)
        raise
    await audit_view(services, caller, kind, doc_id, found=True)
    lang = lang_of(request)
    record = detail.record
    visits, more_visits = (
        await household_visits(services, caller, lang, doc_id)
        if kind == "households"
        else ([], False)
    )
    fields = [
        (name, shown(lang, name, value))
        for name, value in record.items()
        if name != "doc_id" and value is not None
    ]
    return page(
        request,
        "detail.html",
        caller,
        kind=kind,
        doc_id=doc_id,
        fields=fields,
        children={
            name: [{k: shown(lang, k, v) for k, v in row.items()} for row in rows]
            for name, rows in detail.children.items()
        },
        notes=detail.notes,
        history=[{**e, "value": shown(lang, e["field"], e["value"])} for e in detail.history],
        devices=await device_names(services, detail.history),
        visits=visits,
        more_visits=more_visits,
        visit_columns=COLUMNS["visits"],
        conflicts=[
            {
                **conflict,
                "entries": [
                    {**entry, "value": shown(lang, conflict["field"], entry.get("value"))}
                    for entry in conflict["entries"]
                ],
                "current_value": shown(lang, conflict["field"], conflict["current_value"]),
            }
            for conflict in detail.conflicts
        ],
        issues=detail.issues,
        # Flagged by the projection: its document cannot be read, so it cannot be reviewed.
        unreadable=any(issue.get("path") == UNREADABLE_PATH for issue in detail.issues),
        shown=lambda column, value: shown(lang, column, value),
        review=review_panel(request, caller, kind, detail.record),
    )
