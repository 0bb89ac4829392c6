"""Liveness and readiness probes."""

from datetime import datetime

import msgspec
import sqlalchemy as sa
from litestar import Response, get
from litestar.openapi import ResponseSpec

from server.access.roles import Permission
from server.openapi import problems
from server.wiring import Caller, ServicesDep


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


@get("/api/projection", responses=problems(401, 403))
async def projection_lag(services: ServicesDep, caller: Caller) -> ProjectionLag:
    """How far the SQL tables are behind the documents. It counts documents of every grid,
    so it is for admins (operations), not for anyone scoped to some grids."""
    caller.require(Permission.ADMIN)
    lag = await services.projection.projector.lag()
    return ProjectionLag(lag.pending_documents, lag.oldest_pending_since)
