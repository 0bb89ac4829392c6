"""What request handlers get injected: the sync engine and the caller's scope."""

from dataclasses import dataclass

from litestar import Request
from litestar.datastructures import State
from litestar.di import NamedDependency
from sqlalchemy.ext.asyncio import AsyncEngine

from server.auth import Devices
from server.projection import ProjectionWorker
from sync import Scope, SyncEngine


@dataclass(slots=True)
class Services:
    """Built once per process at startup, kept on `app.state.services`."""

    database: AsyncEngine
    sync: SyncEngine
    devices: Devices
    projection: ProjectionWorker


# Handlers name what they need: `services: ServicesDep`, `caller: Caller`.
ServicesDep = NamedDependency[Services]
Caller = NamedDependency[Scope]


def provide_services(state: State) -> Services:
    services: Services = state.services
    return services


async def provide_caller(request: Request[object, object, State], services: ServicesDep) -> Scope:
    return await services.devices.authenticate(request.headers.get("authorization"))
