"""Liveness and readiness probes."""

import sqlalchemy as sa
from litestar import Response, get

from server.wiring import ServicesDep


@get("/healthz", sync_to_thread=False)
def healthz() -> dict[str, str]:
    return {"status": "ok"}


@get("/readyz")
async def readyz(services: ServicesDep) -> Response[dict[str, str]]:
    try:
        async with services.database.connect() as connection:
            await connection.execute(sa.text("SELECT 1"))
    except Exception as error:  # any failure means "not ready", never a crash
        return Response({"status": "unavailable", "detail": type(error).__name__}, status_code=503)
    return Response({"status": "ready"})
