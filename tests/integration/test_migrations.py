"""The Alembic migrations build exactly the schema the code declares."""

from typing import Any

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext

from server.db import record_tables  # noqa: F401  (registers the record tables)
from server.db.engine import make_engine
from server.db.tables import metadata


async def test_the_migrated_database_matches_the_declared_tables(database_url: str) -> None:
    engine = make_engine(database_url)
    try:
        async with engine.connect() as connection:

            def differences(sync_connection: Any) -> list[Any]:
                found: list[Any] = compare_metadata(
                    MigrationContext.configure(sync_connection), metadata
                )
                return found

            assert await connection.run_sync(differences) == []
    finally:
        await engine.dispose()
