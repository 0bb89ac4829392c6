"""Overdue work: the open flags of the nightly `overdue` job in the caller's grids, the
longest overdue first, each linked to its record. Read and audited as `GET /api/overdue`."""

from typing import Any, Literal

from litestar import Request, get
from litestar.datastructures import State
from litestar.params import FromQuery
from litestar.response import Template

from server.access.roles import Permission
from server.console.i18n import MESSAGES, Lang, label, translate
from server.console.render import lang_of, page
from server.reports.api import MAX_PAGE, OverdueItem, audit_overdue, open_flags
from server.web.dependencies import Caller, ServicesDep

RECORD_PAGES = {"visit": "visits", "case": "cases"}


def rule_label(lang: Lang, item: OverdueItem) -> str:
    """What is overdue, in words: `case_mediating` → 纠纷“调解中”超过规定天数."""
    rule = item.rule
    if rule in ("follow_up", "need_deadline", "case_deadline"):
        return translate(lang, f"overdue_{rule}")
    if rule.startswith("need_"):
        size = rule.removeprefix("need_")
        named = f"size_{size}" in MESSAGES  # the built-in sizes; a rules file's as written
        return translate(
            lang, "overdue_need_size", size=translate(lang, f"size_{size}") if named else size
        )
    status = label(lang, "status", rule.removeprefix("case_"))
    return translate(lang, "overdue_case_status", status=status)


@get("/console/overdue", include_in_schema=False)
async def overdue_page(
    request: Request[Any, Any, State],
    services: ServicesDep,
    caller: Caller,
    kind: FromQuery[Literal["visit", "case"] | None] = None,
    grid: FromQuery[str | None] = None,
) -> Template:
    caller.require(Permission.READ_RECORDS)
    grids = caller.grids & {grid} if grid else caller.grids
    async with services.database.connect() as connection:
        found = await open_flags(connection, grids, MAX_PAGE, kind=kind)
    await audit_overdue(services, caller, {"grid": grid, "kind": kind}, found)
    lang = lang_of(request)
    rows = [
        {
            "what": rule_label(lang, item),
            "href": f"/console/{RECORD_PAGES.get(item.kind, 'visits')}/{item.doc_id}",
            "item": item,
        }
        for item in found.items
    ]
    return page(
        request,
        "overdue.html",
        caller,
        rows=rows,
        more=found.next is not None,
        kind=kind or "",
        grid=grid or "",
        grids=sorted(caller.grids),
    )
