"""What a benchmark needs around the code it measures: a database, a real server process,
a meter on the wire and a watch on the server's memory. Everything here cleans up after
itself, on errors and Ctrl-C too.
"""

import asyncio
import contextlib
import os
import platform
import secrets
import signal
import socket
import subprocess
import sys
import threading
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import msgspec
import psutil  # type: ignore[import-untyped]

PG_ADMIN_URL = "postgresql+asyncpg://postgres@127.0.0.1:5432/test"
READY_TIMEOUT = 60.0
STOP_TIMEOUT = 15.0


# The machine ------------------------------------------------------------------


def machine() -> dict[str, Any]:
    model = platform.processor() or ""
    try:
        with open("/proc/cpuinfo") as cpuinfo:
            for line in cpuinfo:
                if line.startswith("model name"):
                    model = line.partition(":")[2].strip()
                    break
    except OSError:
        pass
    return {
        "cores": os.cpu_count(),
        "cpu": model or platform.machine(),
        "ram_gb": round(psutil.virtual_memory().total / 2**30, 1),
        "python": platform.python_version(),
        "os": platform.platform(terse=True),
    }


def revision() -> str | None:
    """The code measured: the commit, and `+dirty` when the work tree differs from it."""
    root = Path(__file__).resolve().parent.parent
    try:
        commit = (
            subprocess.run(
                ["git", "rev-parse", "--short", "HEAD"], cwd=root, capture_output=True, check=True
            )
            .stdout.decode()
            .strip()
        )
        dirty = subprocess.run(["git", "diff", "--quiet", "HEAD"], cwd=root).returncode != 0
    except (OSError, subprocess.CalledProcessError):
        return None
    return commit + ("+dirty" if dirty else "")


# The database -----------------------------------------------------------------


@dataclass(slots=True)
class Database:
    """A fresh database for one run: a SQLite file, or a PostgreSQL database dropped after."""

    kind: str
    url: str
    _pg_admin: str | None = None
    _pg_name: str | None = None

    @classmethod
    async def create(cls, kind: str, workdir: Path, pg_admin_url: str) -> "Database":
        if kind == "sqlite":
            return cls(kind, f"sqlite+aiosqlite:///{workdir / 'doorstep.db'}")
        name = f"doorstep_bench_{secrets.token_hex(4)}"
        await _pg_admin(pg_admin_url, f'CREATE DATABASE "{name}"')
        admin = pg_admin_url.rpartition("/")[0]
        return cls(kind, f"{admin}/{name}", pg_admin_url, name)

    async def drop(self) -> None:
        if self._pg_admin and self._pg_name:
            await _pg_admin(
                self._pg_admin, f'DROP DATABASE IF EXISTS "{self._pg_name}" WITH (FORCE)'
            )
            self._pg_name = None

    @property
    def name(self) -> str | None:
        """The PostgreSQL database's name (None for SQLite)."""
        return self._pg_name

    def size_bytes(self) -> int | None:
        """The SQLite file with its WAL (None for PostgreSQL)."""
        if self.kind != "sqlite":
            return None
        path = Path(self.url.partition(":///")[2])
        return sum(p.stat().st_size for p in (path, Path(f"{path}-wal")) if p.exists())


async def _pg_admin(admin_url: str, statement: str) -> None:
    import asyncpg  # type: ignore[import-untyped]  # only needed for PostgreSQL runs

    dsn = admin_url.replace("postgresql+asyncpg://", "postgresql://", 1)
    connection = await asyncpg.connect(dsn)
    try:
        await connection.execute(statement)
    finally:
        await connection.close()


async def add_devices(database_url: str, grids: list[str], role: str = "grid_member") -> list[str]:
    """One device per entry of `grids` (accounts of `role`); their tokens, in order (the
    schema must exist)."""
    from server.access.authenticate import Access
    from server.access.provision import enrolled_device
    from server.access.roles import Role
    from server.db.engine import make_engine
    from server.settings import get_settings

    engine = make_engine(database_url)
    try:
        access = Access.build(engine, get_settings().login)
        return [
            await enrolled_device(access, grid, f"bench-{index:04d}", Role(role))
            for index, grid in enumerate(grids)
        ]
    finally:
        await engine.dispose()


# The server process -------------------------------------------------------------


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


class ServerProcess:
    """`doorstep serve` in its own session (Ctrl-C here does not reach it; we stop it)."""

    def __init__(self, database_url: str, log_path: Path) -> None:
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.log_path = log_path
        self._log = open(log_path, "wb")  # noqa: SIM115 (closed in stop())
        doorstep = str(Path(sys.executable).with_name("doorstep"))
        command = [doorstep, "serve", "--host", "127.0.0.1", "--port", str(self.port)]
        self.process = subprocess.Popen(
            [*command, "--log-level", "warning"],
            env={**os.environ, "DOORSTEP_DATABASE_URL": database_url},
            stdout=self._log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )

    @property
    def pid(self) -> int:
        return self.process.pid

    async def wait_ready(self) -> None:
        deadline = time.monotonic() + READY_TIMEOUT
        async with httpx.AsyncClient(base_url=self.url, timeout=2) as client:
            while time.monotonic() < deadline:
                if self.process.poll() is not None:
                    raise RuntimeError("the server exited at start")
                try:
                    if (await client.get("/readyz")).status_code == 200:
                        return
                except httpx.TransportError:
                    pass
                await asyncio.sleep(0.1)
        raise RuntimeError(f"the server was not ready in {READY_TIMEOUT:.0f} s")

    def log_tail(self, lines: int | None = 40) -> str:
        """The last `lines` lines of the server's output (all of it for None)."""
        self._log.flush()
        text = self.log_path.read_text(errors="replace").splitlines()
        return "\n".join(text if lines is None else text[-lines:])

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(STOP_TIMEOUT)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        self._log.close()


def listening_pid(url: str) -> int | None:
    """The process listening on `url`'s port, when this user may see it."""
    port = httpx.URL(url).port or 80
    try:
        for connection in psutil.net_connections("tcp"):
            if connection.status == psutil.CONN_LISTEN and connection.laddr.port == port:
                return int(connection.pid)
    except psutil.AccessDenied:
        pass
    return None


# Memory ---------------------------------------------------------------------------


class ServerWatch:
    """Polls the server's resident memory from a thread (the event loop may be busy), and
    the CPU time of the PostgreSQL backends serving `database`, whose process titles
    name it: pooled connections come and go, so they are looked for as the run goes."""

    def __init__(self, pid: int, database: str | None = None, every: float = 0.05) -> None:
        self._process = psutil.Process(pid)
        self._database = database
        self._every = every
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="server-watch", daemon=True)
        self.peak = 0
        self.samples = 0
        self._backend_start: dict[int, float] = {}
        self._backend_last: dict[int, float] = {}

    @property
    def database_cpu(self) -> float | None:
        """CPU seconds the backends spent while watched (None without a database)."""
        if self._database is None:
            return None
        start, last = self._backend_start, self._backend_last
        return sum(seconds - start[pid] for pid, seconds in last.items())

    def __enter__(self) -> "ServerWatch":
        self._scan_backends(first=True)
        self._thread.start()
        return self

    def __exit__(self, *_: object) -> None:
        self._stop.set()
        self._thread.join()
        self._scan_backends()

    def _run(self) -> None:
        while not self._stop.is_set():
            try:
                self.peak = max(self.peak, self._process.memory_info().rss)
            except psutil.Error:
                return
            self.samples += 1
            if self.samples % 5 == 0:
                self._scan_backends()
            self._stop.wait(self._every)

    def _scan_backends(self, first: bool = False) -> None:
        if self._database is None:
            return
        marker = f" {self._database} "
        for process in psutil.process_iter(["name", "cmdline"]):
            title = " ".join(process.info["cmdline"] or [])
            if process.info["name"] != "postgres" or marker not in title:
                continue
            with contextlib.suppress(psutil.Error):  # gone meanwhile
                seconds = cpu_seconds(process.pid)
                # A backend born during the run started from nothing.
                self._backend_start.setdefault(process.pid, seconds if first else 0.0)
                self._backend_last[process.pid] = seconds


def high_water_mark(pid: int) -> int | None:
    """VmHWM: the kernel's own record of the peak resident memory, in bytes."""
    try:
        with open(f"/proc/{pid}/status") as status:
            for line in status:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) * 1024
    except OSError:
        pass
    return None


def cpu_seconds(pid: int) -> float:
    times = psutil.Process(pid).cpu_times()
    return float(times.user + times.system)


class LoopLag:
    """How late the event loop wakes a task that sleeps `every` seconds: when the client's
    own work starves the loop, every tablet's latency includes that wait."""

    def __init__(self, every: float = 0.05) -> None:
        self._every = every
        self.lags: list[float] = []
        self._task: asyncio.Task[None] | None = None

    async def __aenter__(self) -> "LoopLag":
        self._task = asyncio.create_task(self._run())
        return self

    async def __aexit__(self, *_: object) -> None:
        if self._task:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task

    async def _run(self) -> None:
        while True:
            started = time.perf_counter()
            await asyncio.sleep(self._every)
            self.lags.append(time.perf_counter() - started - self._every)


def busy_cpu_seconds() -> float:
    """CPU seconds the whole machine has spent busy (all processes, all cores)."""
    times = psutil.cpu_times()
    extra = ("irq", "softirq")  # Linux; guest time is already inside user time
    return float(
        times.user + times.nice + times.system + sum(getattr(times, n, 0.0) for n in extra)
    )


# The wire ----------------------------------------------------------------------------


class _Result(msgspec.Struct):
    status: str


class _Pulled(msgspec.Struct):
    doc: str


class _Answer(msgspec.Struct):
    """What the meter reads of a sync answer: what it acknowledged and which documents it sent."""

    results: list[_Result] = []
    updates: list[_Pulled] = []


_read_answer = msgspec.msgpack.Decoder(_Answer).decode


@dataclass(slots=True)
class Wire:
    """Body bytes one tablet sent and received, and the documents it was sent."""

    sent: int = 0
    received: int = 0
    requests: int = 0
    pulled_docs: list[str] = field(default_factory=list)
    # Push results by status ("accepted", "duplicate", "refused"), as answered.
    statuses: Counter[str] = field(default_factory=Counter)
    # `time.perf_counter()` when the last answer acknowledging pushes arrived.
    last_ack: float | None = None
    # `(perf_counter(), repr(error))` of requests that got no answer.
    errors: list[tuple[float, str]] = field(default_factory=list)


class MeteredTransport(httpx.AsyncBaseTransport):
    """Counts body bytes as they cross the wire (before any content decoding)."""

    def __init__(self, inner: httpx.AsyncBaseTransport, wire: Wire) -> None:
        self._inner = inner
        self.wire = wire

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        body = await request.aread()
        self.wire.sent += len(body)
        self.wire.requests += 1
        try:
            response = await self._inner.handle_async_request(request)
            try:
                raw = b"".join([chunk async for chunk in response.aiter_raw()])
            finally:
                await response.aclose()
        except httpx.HTTPError as error:
            self.wire.errors.append((time.perf_counter(), repr(error)))
            raise
        self.wire.received += len(raw)
        if response.status_code == 200 and request.url.path == "/api/sync":
            self._read(raw, response.headers)
        return httpx.Response(
            response.status_code,
            headers=response.headers,
            content=raw,
            extensions=response.extensions,
            request=request,
        )

    def _read(self, raw: bytes, headers: httpx.Headers) -> None:
        if headers.get("content-encoding") or "msgpack" not in headers.get("content-type", ""):
            return  # the SDK asks for msgpack, uncompressed; anything else is not ours to read
        answer = _read_answer(raw)
        if answer.results:
            self.wire.last_ack = time.perf_counter()
            self.wire.statuses.update(result.status for result in answer.results)
        self.wire.pulled_docs.extend(update.doc for update in answer.updates)

    async def aclose(self) -> None:
        await self._inner.aclose()


def rss(pid: int) -> int:
    return int(psutil.Process(pid).memory_info().rss)
