"""Real `doorstep serve` processes for end-to-end tests."""

import asyncio
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx
import pytest

from server.access.authenticate import Access
from server.access.provision import enrolled_device
from server.access.roles import Role
from server.access.sessions import LoginPolicy
from server.db.engine import make_engine

DOORSTEP = str(Path(sys.executable).with_name("doorstep"))


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


class ServerProcess:
    """One `doorstep serve` on a free port; can be killed with SIGKILL and restarted."""

    def __init__(self, database_url: str, workdir: Path) -> None:
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        # The built-in nightly timer off unless a test turns it on (`env`).
        self.env = {
            **os.environ,
            "DOORSTEP_DATABASE_URL": database_url,
            "DOORSTEP_NIGHTLY_AT": "off",
        }
        self.workdir = workdir
        self.process: subprocess.Popen[bytes] | None = None
        self.log = workdir / "server.log"

    def start(self) -> None:
        with self.log.open("ab") as log:
            self.process = subprocess.Popen(
                [DOORSTEP, "serve", "--port", str(self.port), "--log-level", "warning"],
                env=self.env,
                cwd=self.workdir,
                stdout=log,
                stderr=subprocess.STDOUT,
            )
        deadline = time.monotonic() + 90  # two cores shared by many test runs: slow starts
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"server exited: {self.log.read_text()[-2000:]}")
            try:
                if httpx.get(f"{self.url}/readyz", timeout=1).status_code == 200:
                    return
            except httpx.HTTPError:
                pass
            time.sleep(0.1)
        raise RuntimeError(f"server did not get ready: {self.log.read_text()[-2000:]}")

    def kill(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.send_signal(signal.SIGKILL)
            self.process.wait()

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.kill()

    def add_device(self, grid: str, name: str = "tablet") -> str:
        """A device token of a new grid member serving `grid` (made if missing), enrolled in
        the server's database directly (`doorstep device enroll` is tested on its own)."""
        url = self.env["DOORSTEP_DATABASE_URL"]
        # In a thread of its own: the calling test may be running an event loop.
        with ThreadPoolExecutor(1) as thread:
            return thread.submit(asyncio.run, _enrolled(url, grid, name)).result()


async def _enrolled(database_url: str, grid: str, name: str) -> str:
    engine = make_engine(database_url)
    try:
        access = Access.build(engine, LoginPolicy())
        return await enrolled_device(access, grid, name, Role.GRID_MEMBER)
    finally:
        await engine.dispose()


@pytest.fixture
def server(database_url: str, tmp_path: Path) -> Iterator[ServerProcess]:
    process = ServerProcess(database_url, tmp_path)
    process.start()
    yield process
    process.stop()
