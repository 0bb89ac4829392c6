"""A real HTTP endpoint for webhook tests, on a local port in the test's event loop: it
checks every signature and answers as `failures`, `always_fail` and `hang` say."""

import asyncio
import contextlib
import json
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from typing import Any

from server.webhooks.signing import verify


@dataclass
class Received:
    at: float
    headers: dict[str, str]
    body: dict[str, Any]
    signed: bool
    answered: int


@dataclass
class Receiver:
    secret: str = ""
    failures: int = 0  # answer 500 to this many requests first
    always_fail: bool = False
    hang: bool = False  # answer only once `released` is set
    released: asyncio.Event = field(default_factory=asyncio.Event)
    port: int = 0
    requests: list[Received] = field(default_factory=list)
    handlers: set[asyncio.Task[Any]] = field(default_factory=set)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/hook"

    def accepted(self) -> list[Received]:
        return [r for r in self.requests if r.answered == 200]

    async def handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        task = asyncio.current_task()
        assert task is not None
        self.handlers.add(task)
        try:
            head = await reader.readuntil(b"\r\n\r\n")
            lines = head.decode().split("\r\n")[1:]
            headers = {
                k.lower(): v.strip() for k, _, v in (line.partition(":") for line in lines if line)
            }
            body = await reader.readexactly(int(headers.get("content-length", "0")))
            if self.hang:
                await self.released.wait()
            signed = verify(self.secret, {k.title(): v for k, v in headers.items()}, body)
            status = 500 if self.always_fail or self.failures > 0 else 200
            if not signed:
                status = 401
            if status == 500 and not self.always_fail:
                self.failures -= 1
            self.requests.append(
                Received(time.monotonic(), headers, json.loads(body), signed, status)
            )
            writer.write(
                f"HTTP/1.1 {status} X\r\nContent-Length: 0\r\nConnection: close\r\n\r\n".encode()
            )
            await writer.drain()
        finally:
            writer.close()
            self.handlers.discard(task)


@asynccontextmanager
async def receiving(receiver: Receiver) -> AsyncIterator[Receiver]:
    server = await asyncio.start_server(receiver.handle, "127.0.0.1", 0)
    receiver.port = server.sockets[0].getsockname()[1]
    try:
        yield receiver
    finally:
        server.close()
        for task in list(receiver.handlers):  # the ones left hanging
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
