"""The Litestar application factory."""

import asyncio
import contextlib
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from importlib.metadata import version

from litestar import Litestar
from litestar.datastructures import State
from litestar.di import Provide

from server import admin, console
from server.access import api as access_api
from server.access.authenticate import Access
from server.db.engine import make_engine
from server.db.update_store import SqlUpdateStore
from server.feed import api as feed_api
from server.households import api as households_api
from server.jobs import api as jobs_api
from server.jobs.timer import JobTasks
from server.records import api as records_api
from server.records import export_api
from server.records.projection import ProjectionWorker, Projector
from server.reports import api as reports_api
from server.review import api as review_api
from server.settings import Settings, get_settings
from server.tablets import documents_api, sync_api
from server.web import health
from server.web.allow import allow_every_method
from server.web.dependencies import Services, provide_caller, provide_services
from server.web.openapi import openapi_config
from server.web.problems import EXCEPTION_HANDLERS
from server.web.request import DoorstepRequest, storable_address
from server.webhooks.config import WebhookConfig
from server.webhooks.dispatcher import WebhookDispatcher
from sync import SyncEngine

# How long a stopping server waits for the webhook round under way to finish.
SHUTDOWN_GRACE_SECONDS = 10


def create_app(settings: Settings | None = None) -> Litestar:
    settings = settings or get_settings()

    @asynccontextmanager
    async def lifespan(app: Litestar) -> AsyncIterator[None]:
        database = make_engine(settings.database_url)
        engine = SyncEngine(SqlUpdateStore(database), settings.limits)
        projection = ProjectionWorker(Projector(database, engine.store, settings.limits.shape))
        access = Access.build(database, settings.login)
        app.state.services = Services(database, engine, access, projection)
        worker = asyncio.create_task(projection.run(), name="projection")
        dispatcher = WebhookDispatcher(database, WebhookConfig.from_env())
        deliveries = asyncio.create_task(dispatcher.run(), name="webhooks")
        # The nightly timer (settings.nightly.at, "off") and runs started by the jobs API.
        jobs = app.state.jobs = JobTasks(app.state.services, settings)
        try:
            yield
        finally:
            await jobs.stop()
            dispatcher.stop()
            worker.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await worker
            # The round under way finishes (bounded); cancelled only if it will not.
            with contextlib.suppress(asyncio.CancelledError, TimeoutError):
                await asyncio.wait_for(deliveries, SHUTDOWN_GRACE_SECONDS)
            await database.dispose()

    return Litestar(
        route_handlers=[
            sync_api.sync_batch,
            documents_api.get_state,
            documents_api.get_update,
            documents_api.post_update,
            health.healthz,
            health.readyz,
            health.projection_lag,
            *export_api.ROUTES,
            feed_api.list_changes,
            records_api.list_kind,
            records_api.get_record,
            *reports_api.ROUTES,
            *access_api.ROUTES,
            *admin.ROUTES,
            *console.ROUTES,
            *review_api.ROUTES,
            *jobs_api.ROUTES,
            *households_api.ROUTES,
        ],
        dependencies={
            "services": Provide(provide_services, sync_to_thread=False),
            "caller": Provide(provide_caller),
        },
        exception_handlers=EXCEPTION_HANDLERS,
        before_send=[allow_every_method],
        request_class=DoorstepRequest,
        before_request=storable_address,
        template_config=console.TEMPLATES,
        lifespan=[lifespan],
        # Handlers that need a setting (the session cookie's `secure_cookies`) take `state`.
        state=State({"settings": settings}),
        request_max_body_size=settings.max_body_bytes,
        openapi_config=openapi_config(version("doorstep")),
    )
