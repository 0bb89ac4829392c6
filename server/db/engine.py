"""Async engines for SQLite (the embedded default) and PostgreSQL (the scale-out store)."""

import asyncio
import weakref
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager, nullcontext
from typing import Any

from sqlalchemy import Connection, Engine, event, make_url
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine, create_async_engine
from sqlalchemy.pool import ConnectionPoolEntry

# Execution option that makes the SQLite BEGIN take the write lock at once.
_IMMEDIATE = "doorstep_begin_immediate"

# SQLite has one writer at a time. Queueing this process's writers on a lock, first come
# first served, beats leaving them to SQLite's busy handler: it polls with sleeps of up to
# 100 ms, so under load some writers would wait for seconds while others go through.
_sqlite_writers: weakref.WeakKeyDictionary[Engine, asyncio.Lock] = weakref.WeakKeyDictionary()

_SQLITE_PRAGMAS = (
    "PRAGMA journal_mode=WAL",
    # FULL syncs the WAL at every commit: an acknowledged push survives a power cut.
    "PRAGMA synchronous=FULL",
    "PRAGMA busy_timeout=30000",
    "PRAGMA foreign_keys=ON",
)


def make_engine(url: str, *, pool_size: int = 10) -> AsyncEngine:
    """An engine for `sqlite+aiosqlite:///path` or `postgresql+asyncpg://...`."""
    if make_url(url).get_backend_name() == "sqlite":
        engine = create_async_engine(url)
        _take_over_sqlite_transactions(engine)
        _sqlite_writers[engine.sync_engine] = asyncio.Lock()
        return engine
    return create_async_engine(
        url,
        pool_size=pool_size,
        max_overflow=pool_size,
        connect_args={"server_settings": {"application_name": "doorstep"}},
    )


@asynccontextmanager
async def write_transaction(engine: AsyncEngine) -> AsyncIterator[AsyncConnection]:
    """A transaction that will write, committed on exit and rolled back on error.

    On SQLite it begins with `BEGIN IMMEDIATE`: a transaction that reads first and
    writes later could otherwise find the snapshot it read stale and fail at once with
    SQLITE_BUSY instead of waiting for the lock. The busy timeout covers waits on other
    processes. On PostgreSQL it is a plain transaction.
    """
    queue = _sqlite_writers.get(engine.sync_engine) or nullcontext()
    async with queue, engine.connect() as connection:
        await connection.execution_options(**{_IMMEDIATE: True})
        async with connection.begin():
            yield connection


def _take_over_sqlite_transactions(engine: AsyncEngine) -> None:
    # sqlite3's legacy mode begins transactions lazily, before DML only, so reads would run
    # outside the transaction and DDL would autocommit. Switch it off and BEGIN ourselves.
    event.listen(engine.sync_engine, "connect", _on_sqlite_connect)
    event.listen(engine.sync_engine, "begin", _on_sqlite_begin)


def _on_sqlite_connect(dbapi_connection: Any, _record: ConnectionPoolEntry) -> None:
    dbapi_connection.isolation_level = None
    cursor = dbapi_connection.cursor()
    for pragma in _SQLITE_PRAGMAS:
        cursor.execute(pragma)
    cursor.close()


def _on_sqlite_begin(connection: Connection) -> None:
    immediate = connection.get_execution_options().get(_IMMEDIATE, False)
    connection.exec_driver_sql("BEGIN IMMEDIATE" if immediate else "BEGIN")
