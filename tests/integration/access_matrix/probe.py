"""Asking as a caller, searching every answer for what lies outside its scope, and the shape
of a row: what to ask, what those allowed must get, and how the others are turned away."""

from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

import httpx

from .world import ADMIN, DEVICE, MACHINE, SEEDED, SESSION, Who, World

# --- asking, and searching the answers for what lies outside -------------------------------


@dataclass
class Ask:
    method: str
    path: str
    params: dict[str, Any] = field(default_factory=dict)
    content: bytes | None = None
    json: Any = None
    headers: dict[str, str] = field(default_factory=dict)
    csrf: bool = True  # a browser session sends its CSRF token on writes
    doc: str = ""  # the document the ask is about, for the checks


@dataclass
class Probe:
    world: World
    who: Who
    headers: dict[str, str]
    leaks: list[str] = field(default_factory=list)

    async def send(self, ask: Ask, headers: dict[str, str] | None = None) -> httpx.Response:
        sent = dict(headers if headers is not None else self.headers) | ask.headers
        if not ask.csrf:
            sent.pop("X-CSRF-Token", None)
        client = self.world.harness.client
        response = await client.request(
            ask.method, ask.path, params=ask.params, content=ask.content, json=ask.json,
            headers=sent,
        )  # fmt: skip
        client.cookies.clear()  # a login's Set-Cookie must not ride along on the next asks
        self._search(ask, response)
        return response

    def _search(self, ask: Ask, response: httpx.Response) -> None:
        """What lies outside the caller's scope is never in an answer, unless the caller
        sent it itself (a foreign grid in a filter). Admins see the org tree and accounts,
        so for them only the records' personal values count."""
        sent = f"{ask.path} {ask.params} {ask.json}".encode() + (ask.content or b"")
        for grid in SEEDED:
            if grid in self.who.grids:
                continue
            strings = self.world.values[grid]
            if ADMIN not in self.who.can:
                strings = strings + self.world.names[grid]
            for marker in strings:
                raw = marker.encode()
                if raw in response.content and raw not in sent:
                    self.leaks.append(f"{marker!r} of {grid}")


def reason(response: httpx.Response) -> str | None:
    try:
        body = response.json()
    except ValueError:
        return None
    return body.get("reason") if isinstance(body, dict) else None


def expect(response: httpx.Response, status: int, why: str | None = None) -> None:
    assert response.status_code == status, f"{response.status_code} {response.text[:300]}"
    if why is not None:
        assert reason(response) == why, response.text[:300]


# --- a row: what to ask, what those allowed must get, how the others are turned away -------


Make = Callable[[Probe], Awaitable[Ask]]
Check = Callable[[Probe, httpx.Response, Ask], Awaitable[None]]
Refusal = Callable[[Who, frozenset[str]], tuple[int, str]]


def refusal(who: Who, need: frozenset[str]) -> tuple[int, str]:
    """How a caller without what a row needs is turned away."""
    if not who.can & {DEVICE, SESSION, MACHINE}:
        return 401, "missing_credentials"
    if DEVICE in need and DEVICE not in who.can:
        return 403, "device_required"
    if SESSION in need and SESSION not in who.can:
        return 403, "session_required"  # the console's API takes no bearer token
    return 403, "forbidden"


def session_only(who: Who, need: frozenset[str]) -> tuple[int, str]:
    """The browser's own session: anything else is told to log in."""
    return (401, "session_required") if who.can & {DEVICE, MACHINE} else refusal(who, need)


def csrf_first(who: Who, need: frozenset[str]) -> tuple[int, str]:
    """A browser's write without its CSRF token is refused before anything else."""
    return (403, "csrf_failed") if SESSION in who.can else refusal(who, need)


@dataclass(frozen=True)
class Row:
    name: str
    need: frozenset[str]
    make: Make
    allowed: Check
    refused: Refusal = refusal
    writes: bool = False  # refused: must change nothing; allowed: wait for the projection
    fresh: bool = False  # spends the caller's credential: run it with a new one


def row(name: str, need: set[str], make: Make, allowed: Check, **options: Any) -> Row:
    return Row(name, frozenset(need), make, allowed, **options)


def answers(status: int, why: str | None = None) -> Check:
    async def check(p: Probe, response: httpx.Response, ask: Ask) -> None:
        expect(response, status, why)

    return check


def plain(method: str, path: str) -> Make:
    async def make(p: Probe) -> Ask:
        return Ask(method, path)

    return make
