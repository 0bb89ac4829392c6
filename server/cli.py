"""The `doorstep` command."""

import asyncio
from pathlib import Path

import click
import sqlalchemy as sa

from server.settings import get_settings


def _prepare_sqlite_dir(url: str) -> None:
    """An embedded SQLite database needs its folder to exist."""
    parsed = sa.make_url(url)
    if parsed.get_backend_name() == "sqlite" and parsed.database not in (None, "", ":memory:"):
        Path(parsed.database).parent.mkdir(parents=True, exist_ok=True)


def _upgrade() -> None:
    from server.db.migrate import upgrade

    url = get_settings().database_url
    _prepare_sqlite_dir(url)
    upgrade(url)


@click.group()
def main() -> None:
    """Doorstep: offline-first sync server for grid field work."""


@main.command()
@click.option("--host", default=None, help="Address to listen on (DOORSTEP_HOST).")
@click.option("--port", type=int, default=None, help="Port to listen on (DOORSTEP_PORT).")
@click.option("--upgrade/--no-upgrade", default=True, help="Upgrade the database schema first.")
@click.option("--log-level", default="info", show_default=True)
def serve(host: str | None, port: int | None, upgrade: bool, log_level: str) -> None:
    """Run the server (SQLite by default; DOORSTEP_DATABASE_URL for PostgreSQL)."""
    import uvicorn

    from server.app import create_app

    settings = get_settings()
    if upgrade:
        _upgrade()
    uvicorn.run(
        create_app(settings),
        host=host or settings.host,
        port=port or settings.port,
        log_level=log_level,
        timeout_graceful_shutdown=10,
        # Tablets pause between pull pages while applying them: keep their connection.
        timeout_keep_alive=30,
    )


@main.group()
def db() -> None:
    """Database schema."""


@db.command("upgrade")
def db_upgrade() -> None:
    """Bring the schema to the latest version (Alembic)."""
    _upgrade()
    click.echo("database is up to date", err=True)


@main.group()
def device() -> None:
    """Tablets allowed to sync."""


@device.command("add")
@click.option("--name", required=True, help="A name people recognise, e.g. the member's name.")
@click.option("--grid", required=True, help="The code of the grid the device syncs.")
def device_add(name: str, grid: str) -> None:
    """Create a device and print its token (alone on stdout; it is shown only once)."""
    from server.auth import Devices
    from server.db.engine import make_engine

    async def add() -> str:
        database = make_engine(get_settings().database_url)
        try:
            return (await Devices(database).add(name, grid)).token
        finally:
            await database.dispose()

    _upgrade()
    click.echo(asyncio.run(add()))
