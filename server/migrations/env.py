"""Alembic environment: migrations run on a connection `server.db.migrate` hands over."""

import asyncio

from alembic import context
from sqlalchemy import Connection

from server.db.migrate import run_locked
from server.db.tables import metadata


def run_migrations(connection: Connection) -> None:
    # Batch mode lets later migrations alter SQLite tables (it rebuilds them).
    context.configure(connection=connection, target_metadata=metadata, render_as_batch=True)
    with context.begin_transaction():
        context.run_migrations()


connection = context.config.attributes.get("connection")
if connection is not None:
    run_migrations(connection)
else:
    url = context.config.get_main_option("sqlalchemy.url")
    if url is None:
        raise RuntimeError("no database: set sqlalchemy.url (server.db.migrate.make_config)")
    asyncio.run(run_locked(url, run_migrations))
