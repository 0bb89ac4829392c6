"""Bring a database's schema up to date with Alembic, without an alembic.ini on disk."""

import asyncio
from collections.abc import Callable
from pathlib import Path

from alembic import command
from alembic.config import Config
from sqlalchemy import Connection, text

from server.db.engine import make_engine, write_transaction

_SCRIPTS = Path(__file__).resolve().parent.parent / "migrations"
# Any fixed number: every process that migrates takes this PostgreSQL advisory lock.
_MIGRATION_LOCK = 0x646F6F72


def make_config(url: str) -> Config:
    """The Alembic configuration, for `alembic.command` calls (revision, downgrade, ...)."""
    config = Config()
    config.set_main_option("script_location", str(_SCRIPTS))
    config.set_main_option("path_separator", "os")
    # New revisions are named like 2026_11_23_0001_update_log.py.
    config.set_main_option(
        "file_template", "%%(year)d_%%(month).2d_%%(day).2d_%%(hour).2d%%(minute).2d_%%(slug)s"
    )
    config.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    return config


def upgrade(url: str) -> None:
    """`alembic upgrade head`; safe to run from several processes at once."""
    asyncio.run(upgrade_async(url))


async def upgrade_async(url: str) -> None:
    config = make_config(url)

    def to_head(connection: Connection) -> None:
        config.attributes["connection"] = connection
        command.upgrade(config, "head")

    await run_locked(url, to_head)


async def run_locked(url: str, migrate: Callable[[Connection], None]) -> None:
    """Run `migrate` in one transaction, one process at a time."""
    engine = make_engine(url)
    try:
        async with write_transaction(engine) as connection:
            if connection.dialect.name == "postgresql":
                # Held to commit; SQLite's BEGIN IMMEDIATE already serialises migrators.
                lock = text("SELECT pg_advisory_xact_lock(:key)")
                await connection.execute(lock, {"key": _MIGRATION_LOCK})
            await connection.run_sync(migrate)
    finally:
        await engine.dispose()
