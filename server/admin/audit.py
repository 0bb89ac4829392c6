"""The audit log, newest first, for admins. Read-only here, and append-only in the database."""

from datetime import datetime
from typing import Annotated

from litestar import get
from litestar.params import FromQuery, QueryParameter

from server.access.listing import AuditPage, AuditQuery, audit_page
from server.access.roles import Permission
from server.admin.common import allow
from server.errors import ClientError
from server.wiring import Caller, ServicesDep

MAX_PAGE = 200
Limit = Annotated[int, QueryParameter(ge=1, le=MAX_PAGE)]


def _aware(name: str, value: datetime | None) -> datetime | None:
    if value is not None and value.tzinfo is None:
        raise ClientError(
            400, "time_without_offset", f"give `{name}` with its offset: 2026-11-23T08:00+08:00"
        )
    return value


@get("/api/admin/audit", summary="Who did what, when, from where")
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
    before: FromQuery[int | None] = None,
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
        _aware("since", since),
        _aware("until", until),
        before,
        limit,
    )
    async with services.database.connect() as connection:
        return await audit_page(connection, wanted)


ROUTES = [query]
