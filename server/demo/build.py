"""Build the demo through the real paths: the org tree and accounts, tablets enrolled by
one-time codes, the app served over HTTP in-process, the tablet SDK syncing over it, the
projection and the read API it feeds."""

import asyncio
import logging
import random
import socket
import tempfile
import time
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any

import httpx
import uvicorn
from litestar import Litestar

from server.app import create_app
from server.demo.database import refuse_unless_empty
from server.demo.field_day import FieldDay, Outcome, Worker
from server.demo.org import STREET, Street
from server.demo.staff import Crew, Staffer, hire, open_accounts
from server.settings import Settings
from server.web.dependencies import Services
from tablet import Tablet

PROJECTION_WAIT = 30.0
# What the demo's tablets report as their app version when they enroll.
APP_VERSION = "doorstep-demo"


@dataclass(slots=True)
class Demo:
    street: Street
    crew: Crew
    outcome: Outcome
    seconds: float
    # What the read API answered about (a) and (c), or why it could not.
    conflict: dict[str, Any] = field(default_factory=dict)
    issues: list[dict[str, Any]] = field(default_factory=list)
    read_api_note: str = ""

    @property
    def member(self) -> Staffer:
        """The grid member whose token the summary hands out: the one of (a) and (b)."""
        return self.crew.members[self.outcome.shown.conflict_grid]


async def enroll(http: httpx.AsyncClient, codes: dict[str, str]) -> dict[str, str]:
    """Each tablet redeems its one-time code, as a real tablet does: username → token."""
    tokens: dict[str, str] = {}
    for username, code in codes.items():
        response = await http.post("/api/enroll", json={"code": code, "app_version": APP_VERSION})
        response.raise_for_status()
        tokens[username] = response.json()["token"]
    return tokens


@asynccontextmanager
async def serving(app: Litestar) -> AsyncIterator[str]:
    """The app on a free loopback port, in this process; yields its base URL."""
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    port = listener.getsockname()[1]
    config = uvicorn.Config(app, log_level="warning", timeout_keep_alive=30)
    server = uvicorn.Server(config)
    task = asyncio.create_task(server.serve(sockets=[listener]))
    try:
        while not server.started:
            if task.done():
                await task
                raise RuntimeError("the demo server stopped while starting")
            await asyncio.sleep(0.02)
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        await task
        listener.close()


async def build_demo(
    settings: Settings, seed: int, day: date, progress: Callable[[str], object] = print
) -> Demo:
    """Raises `DemoRefused` when the database already holds documents."""
    started = time.monotonic()
    logging.getLogger("httpx").setLevel(logging.WARNING)  # a line per tablet request
    await refuse_unless_empty(settings.database_url)
    progress("building the demo: accounts, tablets enrolled, at work, then syncing …")
    rng = random.Random(seed)
    street = STREET
    crew = hire(rng, street, day.year)
    app = create_app(settings)
    with tempfile.TemporaryDirectory(prefix="doorstep-demo-") as folder:
        async with serving(app) as url, httpx.AsyncClient(base_url=url, timeout=30) as http:
            services: Services = app.state.services
            codes = await open_accounts(services.access, street, crew)
            crew.tokens = await enroll(http, codes)
            outcome = await work(rng, day, street, crew, url, Path(folder))
            demo = Demo(street, crew, outcome, 0.0)
            await read_back(demo, url)
    demo.seconds = time.monotonic() - started
    return demo


async def work(
    rng: random.Random, day: date, street: Street, crew: Crew, url: str, folder: Path
) -> Outcome:
    opened: list[Tablet] = []

    def worker(staffer: Staffer) -> Worker:
        token = crew.tokens[staffer.username]
        path = folder / f"{len(opened)}.sqlite3"
        opened.append(Tablet(path, url, token, author=staffer.name))
        return Worker(staffer.name, staffer.role.label, staffer.unit, opened[-1])

    try:
        members = {grid: worker(staffer) for grid, staffer in crew.members.items()}
        mediators = {code: worker(staffer) for code, staffer in crew.mediators.items()}
        return await FieldDay(rng, day, street, members, mediators).run()
    finally:
        for each in opened:
            await each.close()


async def read_back(demo: Demo, url: str) -> None:
    """Wait for the projection (an admin's figure: log in as the admin), then ask the read
    API about (a) and (c) with the tablets' tokens."""
    shown = demo.outcome.shown
    member_token = demo.crew.tokens[demo.member.username]
    invalid_token = demo.crew.tokens[demo.crew.members[shown.invalid_grid].username]
    async with (
        httpx.AsyncClient(base_url=url, timeout=30) as http,
        httpx.AsyncClient(base_url=url, timeout=30) as admin,
    ):
        try:
            await log_in(admin, demo.crew.admin)
            await wait_for_projection(admin)
            detail = await get_json(
                http, f"/api/households/{shown.conflict_household}", member_token
            )
            demo.conflict = next(
                (c for c in detail.get("conflicts", []) if c.get("field") == "phone"), {}
            )
            detail = await get_json(
                http, f"/api/households/{shown.invalid_household}", invalid_token
            )
            demo.issues = list(detail.get("issues", []))
        except (httpx.HTTPError, ValueError, TimeoutError) as error:  # JSON errors are ValueErrors
            demo.read_api_note = f"the read API did not answer as expected: {error}"


async def log_in(http: httpx.AsyncClient, staffer: Staffer) -> None:
    """A browser session: the client keeps its cookie."""
    body = {"username": staffer.username, "password": staffer.password}
    response = await http.post("/api/session", json=body)
    response.raise_for_status()


async def get_json(http: httpx.AsyncClient, path: str, token: str | None = None) -> dict[str, Any]:
    headers = {"Authorization": f"Bearer {token}"} if token else None
    response = await http.get(path, headers=headers)
    response.raise_for_status()
    body: dict[str, Any] = response.json()
    return body


async def wait_for_projection(http: httpx.AsyncClient) -> None:
    deadline = time.monotonic() + PROJECTION_WAIT
    while time.monotonic() < deadline:
        lag = await get_json(http, "/api/projection")
        if not lag.get("pending_documents"):
            return
        await asyncio.sleep(0.1)
    raise TimeoutError(f"the projection is still behind after {PROJECTION_WAIT:.0f} s")
