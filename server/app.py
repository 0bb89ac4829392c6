"""The Litestar application factory."""

import asyncio
import contextlib
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from litestar import Litestar
from litestar.datastructures import State
from litestar.di import Provide

from server import (
    admin_api,
    batch_sync,
    console,
    documents,
    export_api,
    health,
    records_api,
    session_api,
)
from server.access.authenticate import Access
from server.db.engine import make_engine
from server.db.update_store import SqlUpdateStore
from server.problems import EXCEPTION_HANDLERS
from server.projection import ProjectionWorker, Projector
from server.review import api as review_api
from server.settings import Settings, get_settings
from server.wiring import Services, provide_caller, provide_services
from sync import SyncEngine


def create_app(settings: Settings | None = None) -> Litestar:
    settings = settings or get_settings()

    @asynccontextmanager
    async def lifespan(app: Litestar) -> AsyncIterator[None]:
        database = make_engine(settings.database_url)
        engine = SyncEngine(SqlUpdateStore(database), settings.limits)
        projection = ProjectionWorker(Projector(database))
        access = Access.build(database, settings.login)
        app.state.services = Services(database, engine, access, projection)
        worker = asyncio.create_task(projection.run(), name="projection")
        try:
            yield
        finally:
            worker.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await worker
            await database.dispose()

    return Litestar(
        route_handlers=[
            batch_sync.sync_batch,
            documents.get_state,
            documents.get_update,
            documents.post_update,
            health.healthz,
            health.readyz,
            health.projection_lag,
            *export_api.ROUTES,
            records_api.list_kind,
            records_api.get_record,
            *session_api.ROUTES,
            *admin_api.ROUTES,
            *console.ROUTES,
            *review_api.ROUTES,
        ],
        dependencies={
            "services": Provide(provide_services, sync_to_thread=False),
            "caller": Provide(provide_caller),
        },
        exception_handlers=EXCEPTION_HANDLERS,
        template_config=console.TEMPLATES,
        lifespan=[lifespan],
        # Handlers that need a setting (the session cookie's `secure_cookies`) take `state`.
        state=State({"settings": settings}),
        request_max_body_size=settings.max_body_bytes,
    )
