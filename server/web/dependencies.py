"""What request handlers get injected: the services and the authenticated caller."""

from dataclasses import dataclass

from litestar import Request
from litestar.datastructures import State
from litestar.di import NamedDependency
from sqlalchemy.ext.asyncio import AsyncEngine

from server.access.authenticate import Access
from server.access.principal import Principal
from server.records.projection import ProjectionWorker
from sync import SyncEngine


@dataclass(slots=True)
class Services:
    """Built once per process at startup, kept on `app.state.services`."""

    database: AsyncEngine
    sync: SyncEngine
    access: Access
    projection: ProjectionWorker


# Handlers name what they need: `services: ServicesDep`, `caller: Caller`.
ServicesDep = NamedDependency[Services]
Caller = NamedDependency[Principal]


def provide_services(state: State) -> Services:
    services: Services = state.services
    return services


async def provide_caller(
    request: Request[object, object, State], services: ServicesDep
) -> Principal:
    return await services.access.authenticate(request)
