"""The `doorstep` command."""

import asyncio
import os
from datetime import date, datetime, timedelta
from functools import partial
from zoneinfo import ZoneInfo

import click

from server.cli.access import account, admin, device, org, token
from server.cli.database import upgrade_schema
from server.cli.households import households
from server.cli.jobs import jobs, nightly
from server.cli.webhooks import webhook
from server.settings import get_settings

DEMO_DATABASE_URL = "sqlite+aiosqlite:///data/demo.db"
SHANGHAI = ZoneInfo("Asia/Shanghai")


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
    from server.memory import limit_malloc_arenas

    limit_malloc_arenas()  # before any thread (the schema upgrade's driver starts one)
    settings = get_settings()
    if upgrade:
        upgrade_schema()
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
def dbupgrade_schema() -> None:
    """Bring the schema to the latest version (Alembic)."""
    upgrade_schema()
    click.echo("database is up to date", err=True)


@db.command("restored")
def db_restored() -> None:
    """Run once after restoring a backup, before serving: number new updates past every
    pull cursor a tablet may hold from after the backup (docs/nightly.md#restore)."""
    from server.cli.database import with_database
    from server.jobs.backup import after_restore

    head = with_database(after_restore)
    click.echo(f"the update log now continues after {head}", err=True)


for group in (admin, account, org, device, token, nightly, jobs, webhook, households):
    main.add_command(group)


@main.command()
@click.option("--seed", type=int, default=2026, show_default=True, help="Same seed, same demo.")
@click.option(
    "--day",
    type=click.DateTime(["%Y-%m-%d"]),
    default=None,
    help="The simulated field day, YYYY-MM-DD (default: yesterday in Asia/Shanghai).",
)
@click.option("--reset", is_flag=True, help="Delete the SQLite database file first.")
@click.option("--serve/--no-serve", "then_serve", default=True, help="Serve once built.")
@click.option("--host", default=None, help="Address to listen on (DOORSTEP_HOST).")
@click.option("--port", type=int, default=None, help="Port to listen on (DOORSTEP_PORT).")
@click.option("--log-level", default="info", show_default=True)
@click.pass_context
def demo(
    context: click.Context,
    seed: int,
    day: datetime | None,
    reset: bool,
    then_serve: bool,
    host: str | None,
    port: int | None,
    log_level: str,
) -> None:
    """Build a realistic demo (one street, 12 grids, a field day synced by 15 tablets), then
    serve it. Without DOORSTEP_DATABASE_URL it uses its own file, data/demo.db, rebuilt on
    every run. Otherwise it refuses a database that already holds documents; --reset
    deletes the SQLite file first (a PostgreSQL database is never dropped)."""
    from server.demo.build import build_demo
    from server.demo.database import DemoRefused
    from server.demo.database import reset as reset_database
    from server.demo.summary import summary

    if not os.environ.get("DOORSTEP_DATABASE_URL"):
        os.environ["DOORSTEP_DATABASE_URL"] = DEMO_DATABASE_URL
        get_settings.cache_clear()
        reset = True
    settings = get_settings()
    field_day = day.date() if day else _yesterday()
    try:
        if reset:
            reset_database(settings.database_url)
        upgrade_schema()
        progress = partial(click.echo, err=True)
        built = asyncio.run(build_demo(settings, seed, field_day, progress))
    except DemoRefused as refused:
        raise click.ClickException(str(refused)) from refused
    base_url = f"http://{host or settings.host}:{port or settings.port}"
    click.echo(summary(built, seed, field_day, base_url))
    if not then_serve:
        click.echo(f"\nNot serving (--no-serve): `doorstep serve` serves it at {base_url}.")
        return
    click.echo(f"\nServing at {base_url} (Ctrl-C to stop).")
    context.invoke(serve, host=host, port=port, upgrade=False, log_level=log_level)


def _yesterday() -> date:
    return datetime.now(SHANGHAI).date() - timedelta(days=1)
