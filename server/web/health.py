"""Liveness and readiness probes."""

from datetime import datetime

import msgspec
import sqlalchemy as sa
from litestar import Response, get
from litestar.openapi import ResponseSpec

from server.access.roles import Permission
from server.web.dependencies import Caller, ServicesDep
from server.web.openapi import problems


@get("/healthz", sync_to_thread=False)
def healthz() -> dict[str, str]:
    return {"status": "ok"}


@get(
    "/readyz",
    responses={
        503: ResponseSpec(
            dict[str, str],
            description='The database does not answer: `{"status": "unavailable", "detail"}`',
            generate_examples=False,
        )
    },
)
async def readyz(services: ServicesDep) -> Response[dict[str, str]]:
    try:
        async with services.database.connect() as connection:
            await connection.execute(sa.text("SELECT 1"))
    except Exception as error:  # any failure means "not ready", never a crash
        return Response({"status": "unavailable", "detail": type(error).__name__}, status_code=503)
    return Response({"status": "ready"})


class ProjectionLag(msgspec.Struct):
    pending_documents: int
    oldest_pending_since: datetime | None
    # Documents the server cannot read (content an older server stored unchecked): projected
    # flagged, with an issue at `document` (docs/architecture.md).
    unreadable_documents: int = 0
    # A few of them: document id → the message.
    unreadable_examples: dict[str, str] = msgspec.field(default_factory=dict)


@get("/api/projection", responses=problems(401, 403))
async def projection_lag(services: ServicesDep, caller: Caller) -> ProjectionLag:
    """How far the SQL tables are behind the documents, and how many documents could not be
    read. It counts documents of every grid, so it is for admins (operations), not for
    anyone scoped to some grids."""
    caller.require(Permission.ADMIN)
    projector = services.projection.projector
    lag, flagged = await projector.lag(), await projector.flagged()
    return ProjectionLag(
        lag.pending_documents, lag.oldest_pending_since, flagged.documents, flagged.examples
    )
