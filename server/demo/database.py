"""The demo's database: empty, or emptied on request — but only ever a SQLite file."""

from pathlib import Path

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection

from server.db.access_tables import accounts
from server.db.engine import make_engine
from server.db.tables import documents

# SQLite keeps these beside the database file.
_SQLITE_COMPANIONS = ("-wal", "-shm", "-journal")


class DemoRefused(Exception):
    """The demo will not touch this database; the message says why and what to do."""


def sqlite_path(url: str) -> Path | None:
    """The file of a SQLite URL; None for other databases and in-memory SQLite."""
    parsed = sa.make_url(url)
    if parsed.get_backend_name() != "sqlite" or parsed.database in (None, "", ":memory:"):
        return None
    return Path(parsed.database)


def reset(url: str) -> Path | None:
    """Delete the SQLite database file (and its WAL); refuse any other database."""
    if sa.make_url(url).get_backend_name() != "sqlite":
        shown = sa.make_url(url).render_as_string(hide_password=True)
        raise DemoRefused(
            f"--reset deletes SQLite files only; it never drops a real database ({shown}). "
            "Point DOORSTEP_DATABASE_URL at an empty database instead."
        )
    path = sqlite_path(url)
    if path is not None:
        for file in (path, *(path.with_name(path.name + end) for end in _SQLITE_COMPANIONS)):
            file.unlink(missing_ok=True)
    return path


async def refuse_unless_empty(url: str) -> None:
    """The demo adds to no one's data: a database holding documents or accounts is refused."""
    engine = make_engine(url)
    try:
        async with engine.connect() as connection:
            held = [
                f"{count} {what}"
                for what, table in (("documents", documents), ("accounts", accounts))
                if (count := await _count(connection, table))
            ]
    finally:
        await engine.dispose()
    if held:
        shown = sa.make_url(url).render_as_string(hide_password=True)
        hint = (
            "run `doorstep demo --reset` to delete the SQLite file and start over"
            if sqlite_path(url)
            else "point DOORSTEP_DATABASE_URL at an empty database"
        )
        raise DemoRefused(f"the database {shown} already holds {' and '.join(held)}; {hint}")


async def _count(connection: AsyncConnection, table: sa.Table) -> int:
    count: int = (
        await connection.execute(sa.select(sa.func.count()).select_from(table))
    ).scalar_one()
    return count
