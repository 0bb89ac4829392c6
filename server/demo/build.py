"""Build the demo through the real paths: devices, the app served over HTTP in-process, the
tablet SDK syncing over it, the projection and the read API it feeds."""

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

from server.app import create_app
from server.auth import Devices
from server.db.engine import make_engine
from server.demo import people
from server.demo.database import refuse_unless_empty
from server.demo.field_day import FieldDay, Outcome, Worker
from server.demo.org import STREET, Street
from server.settings import Settings
from tablet import Tablet

PROJECTION_WAIT = 30.0


@dataclass(slots=True)
class Crew:
    """Who works the field day, and each one's device token."""

    members: dict[str, str] = field(default_factory=dict)  # grid → name
    mediators: dict[str, str] = field(default_factory=dict)  # community → name
    tokens: dict[str, str] = field(default_factory=dict)  # name → token


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
    def member(self) -> str:
        """The grid member whose token the summary hands out: the one of (a) and (b)."""
        return self.crew.members[self.outcome.shown.conflict_grid]


def hire(rng: random.Random, street: Street, year: int) -> Crew:
    """One grid member per grid, one mediator per community; everyone's name differs."""
    crew, names = Crew(), set[str]()

    def new_name(oldest: int, youngest: int) -> str:
        name = ""
        while not name or name in names:
            born = year - rng.randint(youngest, oldest)
            name = people.full_name(rng, rng.random() < 0.5, born)
        names.add(name)
        return name

    for community in street.communities:
        for grid in community.grids:
            crew.members[grid.code] = new_name(50, 24)
        crew.mediators[community.code] = new_name(63, 45)
    return crew


async def enroll(crew: Crew, street: Street, database_url: str) -> None:
    """A device per person (the one write the demo makes outside HTTP)."""
    engine = make_engine(database_url)
    devices = Devices(engine)
    try:
        for community in street.communities:
            for grid in community.grids:
                name = crew.members[grid.code]
                crew.tokens[name] = (await devices.add(f"{name}的平板", grid.code)).token
            name = crew.mediators[community.code]
            device = await devices.add(f"{name}的平板（调解员）", community.mediator_grid)
            crew.tokens[name] = device.token
    finally:
        await engine.dispose()


@asynccontextmanager
async def serving(settings: Settings) -> AsyncIterator[str]:
    """The app on a free loopback port, in this process; yields its base URL."""
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    port = listener.getsockname()[1]
    config = uvicorn.Config(create_app(settings), log_level="warning", timeout_keep_alive=30)
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
    progress("building the demo: tablets at work, then syncing …")
    rng = random.Random(seed)
    street = STREET
    crew = hire(rng, street, day.year)
    await enroll(crew, street, settings.database_url)
    with tempfile.TemporaryDirectory(prefix="doorstep-demo-") as folder:
        async with serving(settings) as url:
            outcome = await work(rng, day, street, crew, url, Path(folder))
            demo = Demo(street, crew, outcome, 0.0)
            await read_back(demo, url)
    demo.seconds = time.monotonic() - started
    return demo


async def work(
    rng: random.Random, day: date, street: Street, crew: Crew, url: str, folder: Path
) -> Outcome:
    def tablet(name: str) -> Tablet:
        return Tablet(folder / f"{len(opened)}.sqlite3", url, crew.tokens[name], author=name)

    opened: list[Tablet] = []
    members: dict[str, Worker] = {}
    mediators: dict[str, Worker] = {}
    try:
        for community in street.communities:
            for grid in community.grids:
                name = crew.members[grid.code]
                opened.append(tablet(name))
                members[grid.code] = Worker(name, "网格员", grid.code, opened[-1])
            name = crew.mediators[community.code]
            opened.append(tablet(name))
            mediators[community.code] = Worker(name, "调解员", community.mediator_grid, opened[-1])
        return await FieldDay(rng, day, street, members, mediators).run()
    finally:
        for each in opened:
            await each.close()


async def read_back(demo: Demo, url: str) -> None:
    """Wait for the projection, then ask the read API about (a) and (c)."""
    shown = demo.outcome.shown
    member_token = demo.crew.tokens[demo.member]
    invalid_token = demo.crew.tokens[demo.crew.members[shown.invalid_grid]]
    async with httpx.AsyncClient(base_url=url, timeout=30) as http:
        try:
            await wait_for_projection(http, member_token)
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


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


async def get_json(http: httpx.AsyncClient, path: str, token: str) -> dict[str, Any]:
    response = await http.get(path, headers=bearer(token))
    response.raise_for_status()
    body: dict[str, Any] = response.json()
    return body


async def wait_for_projection(http: httpx.AsyncClient, token: str) -> None:
    deadline = time.monotonic() + PROJECTION_WAIT
    while time.monotonic() < deadline:
        lag = await get_json(http, "/api/projection", token)
        if not lag.get("pending_documents"):
            return
        await asyncio.sleep(0.1)
    raise TimeoutError(f"the projection is still behind after {PROJECTION_WAIT:.0f} s")
