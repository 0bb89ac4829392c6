"""The real application in-process (real database, ASGI app) and real SDK tablets on it."""

import asyncio
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, replace
from pathlib import Path

import httpx
import pytest
import sqlalchemy as sa
from litestar import Litestar

from server.access.audit import SYSTEM
from server.access.authenticate import SESSION_COOKIE
from server.access.org import Level, Unit
from server.access.provision import enrolled_device
from server.access.roles import Role
from server.access.secrets import csrf_token
from server.app import create_app
from server.db.tables import updates
from server.settings import NightlySettings, Settings
from server.web.dependencies import Services
from sync import Limits
from tablet import Tablet

BASE = "http://testserver.local"


class FlakyNetwork(httpx.AsyncBaseTransport):
    """Loses the next answers after the server has acted on the request, like a dropped
    mobile connection; or loses requests before they arrive."""

    def __init__(self, inner: httpx.AsyncBaseTransport) -> None:
        self.inner = inner
        self.drop_answers = 0
        self.drop_requests = 0

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        if self.drop_requests:
            self.drop_requests -= 1
            raise httpx.ConnectError("connection lost before sending")
        response = await self.inner.handle_async_request(request)
        await response.aread()
        if self.drop_answers:
            self.drop_answers -= 1
            raise httpx.ReadError("connection lost while the answer was on its way")
        return response


@dataclass
class Harness:
    app: Litestar
    client: httpx.AsyncClient

    @property
    def services(self) -> Services:
        services: Services = self.app.state.services
        return services

    async def token(self, grid: str, name: str = "tablet", role: Role = Role.GRID_MEMBER) -> str:
        """A device token of a new account of `role` serving `grid`."""
        return await enrolled_device(self.services.access, grid, name, role)

    async def stored_update_count(self) -> int:
        async with self.services.database.connect() as connection:
            count: int = (
                await connection.execute(sa.select(sa.func.count()).select_from(updates))
            ).scalar_one()
            return count

    def network(self) -> FlakyNetwork:
        return FlakyNetwork(httpx.ASGITransport(app=self.app))

    async def tablet(
        self, path: Path, grid: str, author: str = "网格员"
    ) -> tuple[Tablet, FlakyNetwork]:
        network = self.network()
        http = httpx.AsyncClient(transport=network, base_url=BASE)
        tablet = Tablet(path, BASE, await self.token(grid, author), author=author, http=http)
        return tablet, network


@asynccontextmanager
async def running_app(database_url: str, **overrides: object) -> AsyncIterator[Harness]:
    # The built-in nightly timer off: no test runs the jobs at 02:00 by accident.
    settings = Settings(database_url=database_url, nightly=NightlySettings(at="off"))
    limits = {k: v for k, v in overrides.items() if hasattr(Limits(), k)}
    rest = {k: v for k, v in overrides.items() if k not in limits}
    settings = replace(settings, limits=replace(settings.limits, **limits), **rest)  # type: ignore[arg-type]
    app = create_app(settings)
    async with (
        _lifespan(app),
        httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url=BASE) as client,
    ):
        yield Harness(app, client)


@asynccontextmanager
async def _lifespan(app: Litestar) -> AsyncIterator[None]:
    """Run the app's startup and shutdown in this event loop (database connections are bound
    to it) but in a task of their own: anyio scopes must end in the task that began them."""
    started, stopping = asyncio.Event(), asyncio.Event()

    async def hold() -> None:
        async with app.lifespan():
            started.set()
            await stopping.wait()

    task = asyncio.create_task(hold())
    await asyncio.wait(
        [task, asyncio.create_task(started.wait())], return_when=asyncio.FIRST_COMPLETED
    )
    if task.done():
        task.result()  # startup failed: raise its error
    try:
        yield
    finally:
        stopping.set()
        await task


# --- People and their credentials, for access tests ---------------------------------------

PASSWORD = "lamp-post-orchard-42"


@dataclass(frozen=True)
class Person:
    account_id: str
    username: str
    role: Role


async def person(
    harness: Harness, role: Role, units: list[str], username: str, password: str = PASSWORD
) -> Person:
    """An account of `role` attached to `units` (which must exist), with a password."""
    account = await harness.services.access.accounts.create(
        username, username, role, units, password, SYSTEM
    )
    return Person(account, username, role)


async def device_headers(harness: Harness, someone: Person) -> dict[str, str]:
    device = await harness.services.access.devices.add(someone.account_id, "平板", SYSTEM)
    return {"Authorization": f"Bearer {device.token}"}


async def session_headers(
    harness: Harness, someone: Person, password: str = PASSWORD
) -> dict[str, str]:
    """A logged-in browser: the session cookie and the CSRF token it must send on writes."""
    session = await harness.services.access.sessions.login(someone.username, password, "10.0.0.9")
    return {
        "Cookie": f"{SESSION_COOKIE}={session.secret}",
        "X-CSRF-Token": csrf_token(session.secret),
    }


async def machine_headers(harness: Harness, units: list[str]) -> dict[str, str]:
    made = await harness.services.access.machine_tokens.create("夜间报表", units, SYSTEM)
    return {"Authorization": f"Bearer {made.token}"}


# Street S1 → community C1 (grids G1, G2) and community C2 (grid G3).
TWO_COMMUNITIES = (
    Unit("S1", "城南街道", Level.STREET),
    Unit("C1", "幸福社区", Level.COMMUNITY, "S1"),
    Unit("C2", "和平社区", Level.COMMUNITY, "S1"),
    Unit("G1", "一网格", Level.GRID, "C1"),
    Unit("G2", "二网格", Level.GRID, "C1"),
    Unit("G3", "三网格", Level.GRID, "C2"),
)


async def org(harness: Harness, *units: Unit) -> None:
    """Create or move units, parents first."""
    await harness.services.access.org.put(list(units), SYSTEM)


@asynccontextmanager
async def logs_seen_by(caplog: pytest.LogCaptureFixture) -> AsyncIterator[None]:
    """Make caplog see every record at DEBUG while an app runs. The app's logging setup
    replaces the root logger's handlers (caplog's among them), and Litestar's own logger
    does not propagate. Not capfd: the app's handlers would go on writing to its stream
    after the test closed it."""
    caplog.set_level(logging.DEBUG)
    loggers = [logging.getLogger()] + [
        logger
        for logger in logging.root.manager.loggerDict.values()
        if isinstance(logger, logging.Logger) and not logger.propagate
    ]
    for logger in loggers:
        logger.addHandler(caplog.handler)
    try:
        yield
    finally:
        for logger in loggers:
            logger.removeHandler(caplog.handler)
