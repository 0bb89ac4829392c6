"""Approving the records ticked in a list, in one go.

A plain form post (the `doc` checkboxes of the list's table, the session's CSRF token as
`csrf_token`, the list's filters as `back`), answered by a redirect back to the list with
how many were approved and how many skipped. Each record goes through the review service
as the bulk review API does: written into its document, audited, pulled by tablets; a
record the caller may not review (gone, elsewhere) is skipped, never half-done.
"""

from typing import Any, Literal
from urllib.parse import parse_qsl, urlencode

from litestar import Request, post
from litestar.datastructures import State
from litestar.params import FromPath
from litestar.response import Redirect

from schemas.review import ReviewAction
from server.access.roles import Permission
from server.console.filters import form_values
from server.errors import ClientError
from server.records.api import KINDS
from server.review.api import MAX_BULK
from server.review.edits import Decision
from server.review.service import review_record
from server.web.dependencies import Caller, ServicesDep

KindName = Literal["visits", "cases", "households"]


def _ticked(form: Any) -> list[str]:
    ids = [value for value in form.getall("doc", []) if isinstance(value, str) and value]
    ids = list(dict.fromkeys(ids))
    if not ids:
        raise ClientError(400, "nothing_selected", "tick the records to approve first")
    if len(ids) > MAX_BULK:
        raise ClientError(400, "too_many_selected", f"at most {MAX_BULK} records at once")
    return ids


@post("/console/{kind:str}/approve", include_in_schema=False, status_code=303)
async def approve_selected(
    request: Request[Any, Any, State],
    kind: FromPath[KindName],
    services: ServicesDep,
    caller: Caller,
) -> Redirect:
    caller.require(Permission.REVIEW)
    form = await request.form()
    back = form.get("back")
    filters = form_values(KINDS[kind], dict(parse_qsl(back if isinstance(back, str) else "")))
    approved: list[str] = []
    skipped = 0
    for doc_id in _ticked(form):
        try:
            await review_record(services, caller, kind, doc_id, Decision(ReviewAction.APPROVE))
        except ClientError as error:
            if error.status in (401, 403):
                raise
            skipped += 1
            continue
        approved.append(doc_id)
    # The worker would project them shortly; the list after the redirect shows them now.
    await services.projection.projector.project(approved)
    outcome = {"approved": len(approved), "skipped": skipped}
    return Redirect(f"/console/{kind}?{urlencode({**filters, **outcome})}#bulk", status_code=303)


ROUTES = [approve_selected]
