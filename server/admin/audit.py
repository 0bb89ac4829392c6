"""The audit log, newest first, for admins. Read-only here, and append-only in the database."""

from datetime import datetime
from typing import Annotated

from litestar import get
from litestar.params import FromQuery, QueryParameter

from server.access.listing import AuditPage, AuditQuery, audit_page
from server.access.roles import Permission
from server.admin.common import allow
from server.web.dependencies import Caller, ServicesDep
from server.web.openapi import problems
from server.web.params import MAX_ID, Before, aware

MAX_PAGE = 200
Limit = Annotated[int, QueryParameter(ge=1, le=MAX_PAGE)]


@get(
    "/api/admin/audit",
    summary="Who did what, when, from where",
    responses=problems(400, 401, 403),
)
async def query(
    services: ServicesDep,
    caller: Caller,
    action: FromQuery[str | None] = None,
    outcome: FromQuery[str | None] = None,
    account: FromQuery[str | None] = None,
    device: FromQuery[str | None] = None,
    target: FromQuery[str | None] = None,
    since: FromQuery[datetime | None] = None,
    until: FromQuery[datetime | None] = None,
    before: Before = MAX_ID,
    limit: Limit = 50,
) -> AuditPage:
    """`action` is exact, or a prefix such as `device.*`; `account` an id or a username;
    `since` ≤ time < `until`; `next` is the `before` of the next, older page."""
    allow(caller, Permission.ADMIN)
    wanted = AuditQuery(
        action,
        outcome,
        account,
        device,
        target,
        aware("since", since),
        aware("until", until),
        before,
        limit,
    )
    async with services.database.connect() as connection:
        return await audit_page(connection, wanted)


ROUTES = [query]
