"""`doorstep households import FILE --as USERNAME [--dry-run]`: the console's import from
the server host, made as that account (its role and its grids decide, as in the console)."""

from pathlib import Path
from typing import TYPE_CHECKING

import click
import sqlalchemy as sa

if TYPE_CHECKING:
    from sqlalchemy.ext.asyncio import AsyncEngine

    from server.access.principal import Principal
    from server.households.service import ImportReport


@click.group()
def households() -> None:
    """The households register."""


async def _as_account(engine: "AsyncEngine", username: str) -> "Principal":
    """The active account `username` as its console session would be, from this host."""
    from server.access.devices import units_of
    from server.access.org import grids_below
    from server.access.principal import Principal
    from server.access.roles import PERMISSIONS, Role
    from server.db.access_tables import accounts

    async with engine.connect() as connection:
        row = (
            await connection.execute(
                sa.select(accounts.c.id, accounts.c.role).where(
                    accounts.c.username == username, accounts.c.disabled_at.is_(None)
                )
            )
        ).first()
        if row is None:
            raise click.ClickException(f"no active account {username!r}")
        grids = await grids_below(connection, units_of(row.id))
    role = Role(row.role)
    return Principal(
        "session", PERMISSIONS[role], grids, account_id=row.id, username=username, role=role
    )


async def _run(
    engine: "AsyncEngine", content: bytes, source: str, username: str, dry_run: bool
) -> "ImportReport":
    from server.cli.database import access_services
    from server.db.update_store import SqlUpdateStore
    from server.households.service import import_register, preview
    from server.records.projection import ProjectionWorker, Projector
    from server.settings import get_settings
    from server.web.dependencies import Services
    from sync import SyncEngine

    caller = await _as_account(engine, username)
    projector = Projector(engine)
    sync = SyncEngine(SqlUpdateStore(engine), get_settings().limits)
    services = Services(engine, sync, access_services(engine), ProjectionWorker(projector))
    if dry_run:
        return await preview(services, caller, content)
    report = await import_register(services, caller, content, source)
    await projector.catch_up()  # no server may be running to project them
    return report


@households.command("import")
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--as", "username", required=True, help="The account importing (its grids).")
@click.option("--dry-run", is_flag=True, help="Check every row and show the errors; write nothing.")
def import_file(file: Path, username: str, dry_run: bool) -> None:
    """Import a households register (CSV or XLSX). With an error in any row nothing is
    imported (exit code 1); households that exist already are not created again."""
    from server.cli.database import with_database  # not at import: server.cli imports this

    content = file.read_bytes()

    def run(check_only: bool) -> "ImportReport":
        return with_database(lambda engine: _run(engine, content, file.name, username, check_only))

    report = run(check_only=True)
    checked = report.checked
    for error in checked.errors:
        column = error.column or "row"
        click.echo(f"row {error.row}, {column}: {error.reason} {error.detail}".rstrip(), err=True)
    if checked.errors:
        raise click.ClickException(
            f"{checked.rows_with_errors} of {report.rows} rows have errors; nothing was imported"
        )
    if not dry_run:
        report = run(check_only=False)
    existing = report.count("imported") + report.count("recorded")
    done = f"created {report.created}" if report.imported else f"would create {report.count('new')}"
    click.echo(f"{report.rows} rows: {done} households, {existing} exist already", err=True)
