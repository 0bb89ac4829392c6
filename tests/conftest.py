"""Fixtures shared by every suite: fresh, migrated, empty databases on SQLite and PostgreSQL.

Each template is migrated once per session; a test's database is a copy of it (a file copy
on SQLite, `CREATE DATABASE ... TEMPLATE` on PostgreSQL), dropped afterwards.
"""

import asyncio
import os
import secrets
import shutil
from collections.abc import Callable, Iterator
from pathlib import Path

import asyncpg
import pytest
from sqlalchemy import make_url

from server.db.migrate import upgrade_async

DEFAULT_PG_URL = "postgresql+asyncpg://postgres@127.0.0.1:5432/test"

DATABASE_KINDS = ["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)]

MakeDatabaseUrl = Callable[[str], str]


def sqlite_url(path: Path) -> str:
    return f"sqlite+aiosqlite:///{path}"


def with_database(url: str, name: str) -> str:
    """`url` pointing at another database of the same server."""
    return make_url(url).set(database=name).render_as_string(hide_password=False)


def _admin(url: str, *statements: str) -> None:
    """Run statements (CREATE/DROP DATABASE: no transaction) on `url`'s database."""

    async def run() -> None:
        dsn = make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)
        connection = await asyncpg.connect(dsn, timeout=5)
        try:
            for statement in statements:
                await connection.execute(statement)
        finally:
            await connection.close()

    asyncio.run(run())


@pytest.fixture(scope="session")
def pg_url() -> str:
    url = os.environ.get("DOORSTEP_TEST_PG_URL", DEFAULT_PG_URL)
    try:
        _admin(url, "SELECT 1")
    except (OSError, TimeoutError, asyncpg.PostgresError) as error:
        shown = make_url(url).render_as_string(hide_password=True)
        if os.environ.get("DOORSTEP_REQUIRE_POSTGRES"):  # set by .ci/run: never skip there
            pytest.fail(f"PostgreSQL required but not reachable at {shown}: {error}")
        pytest.skip(f"PostgreSQL not reachable at {shown}: {error}")
    return url


@pytest.fixture(scope="session")
def pg_template(pg_url: str) -> Iterator[str]:
    """The name of a migrated PostgreSQL database to copy; nobody connects to it."""
    name = f"doorstep_tpl_{secrets.token_hex(4)}"
    _admin(pg_url, f"CREATE DATABASE {name}")
    try:
        asyncio.run(upgrade_async(with_database(pg_url, name)))
        yield name
    finally:
        _admin(pg_url, f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")


@pytest.fixture(scope="session")
def sqlite_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("template") / "doorstep.db"
    asyncio.run(upgrade_async(sqlite_url(path)))
    return path


@pytest.fixture
def make_database_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[MakeDatabaseUrl]:
    """A factory of fresh, migrated, empty databases: `make_database_url("sqlite")` → URL."""
    made: list[tuple[str, str]] = []  # (server URL, database name) to drop

    def make(kind: str) -> str:
        name = f"doorstep_t_{secrets.token_hex(6)}"
        if kind == "sqlite":
            path = tmp_path / f"{name}.db"
            shutil.copyfile(request.getfixturevalue("sqlite_template"), path)
            return sqlite_url(path)
        if kind == "postgresql":
            template = request.getfixturevalue("pg_template")
            pg_url = request.getfixturevalue("pg_url")
            _admin(pg_url, f"CREATE DATABASE {name} TEMPLATE {template}")
            made.append((pg_url, name))
            return with_database(pg_url, name)
        raise ValueError(f"no database kind {kind!r}")

    yield make
    for pg_url, name in made:
        _admin(pg_url, f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")


@pytest.fixture(params=DATABASE_KINDS)
def database_url(request: pytest.FixtureRequest, make_database_url: MakeDatabaseUrl) -> str:
    """A fresh, migrated, empty database, once on SQLite and once on PostgreSQL."""
    kind: str = request.param
    return make_database_url(kind)
