"""What every command needs: the schema upgraded, the database, the access services."""

import asyncio
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import TYPE_CHECKING, TypeVar

import click
import sqlalchemy as sa

from server.settings import get_settings

if TYPE_CHECKING:
    from sqlalchemy.ext.asyncio import AsyncEngine

    from server.access.authenticate import Access


def prepare_sqlite_dir(url: str) -> None:
    """An embedded SQLite database needs its folder to exist."""
    parsed = sa.make_url(url)
    if parsed.get_backend_name() == "sqlite" and parsed.database not in (None, "", ":memory:"):
        Path(parsed.database).parent.mkdir(parents=True, exist_ok=True)


def upgrade_schema() -> None:
    from server.db.migrate import upgrade

    url = get_settings().database_url
    prepare_sqlite_dir(url)
    upgrade(url)


_T = TypeVar("_T")


def with_database(action: "Callable[[AsyncEngine], Awaitable[_T]]") -> _T:
    """Upgrade the schema, then run `action` on the database. A refusal (an unknown unit,
    a weak password …) is a one-line error, not a traceback."""
    from server.db.engine import make_engine
    from server.errors import ClientError

    async def run() -> _T:
        engine = make_engine(get_settings().database_url)
        try:
            return await action(engine)
        finally:
            await engine.dispose()

    upgrade_schema()
    try:
        return asyncio.run(run())
    except ClientError as refused:
        raise click.ClickException(refused.detail) from refused


def access_services(engine: "AsyncEngine") -> "Access":
    from server.access.authenticate import Access

    return Access.build(engine, get_settings().login)


def with_access(action: "Callable[[Access], Awaitable[_T]]") -> _T:
    return with_database(lambda engine: action(access_services(engine)))
