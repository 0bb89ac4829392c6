"""The Alembic migrations build exactly the schema the code declares."""

from collections.abc import Callable
from typing import Any

import msgspec
import sqlalchemy as sa
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.config import Config
from alembic.migration import MigrationContext

from server.access.roles import Role
from server.access.secrets import hash_secret
from server.db import record_tables  # noqa: F401  (registers the record tables)
from server.db.engine import make_engine
from server.db.migrate import make_config, run_locked
from server.db.tables import metadata
from tests.integration.harness import running_app

MSGPACK = {"Content-Type": "application/msgpack"}


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


async def test_devices_from_before_accounts_keep_syncing(database_url: str) -> None:
    """Migration 0003 makes each old device a grid member's account on its grid."""
    config = make_config(database_url)
    await _alembic(database_url, lambda: command.downgrade(config, "0002"), config)
    engine = make_engine(database_url)
    try:
        async with engine.begin() as connection:
            await connection.execute(
                sa.text(
                    "INSERT INTO devices (id, name, grid, token_hash, created_at) "
                    "VALUES ('d1', '王芳的平板', 'LP-01-01', :hash, CURRENT_TIMESTAMP)"
                ),
                {"hash": hash_secret("dst_old-token")},
            )
    finally:
        await engine.dispose()
    await _alembic(database_url, lambda: command.upgrade(config, "head"), config)
    async with running_app(database_url) as harness:
        response = await harness.client.post(
            "/api/sync",
            content=msgspec.msgpack.encode({"pull": True}),
            headers={"Authorization": "Bearer dst_old-token", **MSGPACK},
        )
        assert response.status_code == 200, response.text
        principal = await harness.services.access.devices.authenticate("dst_old-token", None, None)
        assert (principal.role, principal.grids) == (Role.GRID_MEMBER, {"LP-01-01"})


async def _alembic(url: str, step: Callable[[], None], config: Config) -> None:
    def run(connection: Any) -> None:
        config.attributes["connection"] = connection
        step()

    await run_locked(url, run)
