"""First setup and access: the first admin, accounts, the org tree, devices, machine tokens."""

import re
import sys
from datetime import datetime
from typing import TYPE_CHECKING, Any, TextIO
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo

import click
import sqlalchemy as sa

from server.access.roles import Role
from server.cli.database import access_services, with_access, with_database
from server.settings import get_settings

if TYPE_CHECKING:
    from sqlalchemy.ext.asyncio import AsyncEngine


SHANGHAI = ZoneInfo("Asia/Shanghai")
# Addresses a tablet cannot reach this server at.
LOOPBACK = frozenset({"127.0.0.1", "localhost", "::1", "0.0.0.0", "::"})


def _read_password(from_stdin: bool, prompt: bool) -> str | None:
    """One line of stdin (for scripts), a hidden prompt typed twice, or no password."""
    if from_stdin:
        line = sys.stdin.readline().rstrip("\r\n")
        if not line:
            raise click.UsageError("--password-stdin: stdin held no password")
        return line
    if prompt:
        typed: str = click.prompt("Password", hide_input=True, confirmation_prompt=True, err=True)
        return typed
    return None


def _username(context: click.Context, parameter: click.Parameter, value: str) -> str:
    """The same rule as the admin API's: it is typed at every login."""
    if not re.fullmatch(r"[A-Za-z0-9._-]{1,64}", value):
        raise click.BadParameter("1–64 letters, digits, '.', '_' or '-'")
    return value


_username_option = click.option(
    "--username", required=True, callback=_username, help="The login name."
)
_password_stdin = click.option(
    "--password-stdin", is_flag=True, help="Read the password from the first line of stdin."
)


@click.group()
def admin() -> None:
    """First setup."""


@admin.command("create")
@_username_option
@click.option("--name", "display_name", required=True, help="The person's name.")
@_password_stdin
def admin_create(username: str, display_name: str, password_stdin: bool) -> None:
    """Create an admin account (role admin, the whole tree); print its id on stdout.

    The password comes from a hidden prompt (typed twice) or with --password-stdin."""
    from server.access.audit import CLI

    password = _read_password(password_stdin, prompt=True)
    account_id = with_access(
        lambda access: access.accounts.create(username, display_name, Role.ADMIN, [], password, CLI)
    )
    click.echo(f"admin {username} created: log in at /api/session", err=True)
    click.echo(account_id)


@click.group()
def account() -> None:
    """Accounts of people: a role and the org units they serve."""


@account.command("add")
@_username_option
@click.option("--name", "display_name", required=True, help="The person's name.")
@click.option("--role", required=True, type=click.Choice([role.value for role in Role]))
@click.option(
    "--unit",
    "units",
    multiple=True,
    help="Code of an org unit served (repeatable): the scope is every grid below them.",
)
@_password_stdin
@click.option("--prompt-password", is_flag=True, help="Ask for a password (hidden, twice).")
def account_add(
    username: str,
    display_name: str,
    role: str,
    units: tuple[str, ...],
    password_stdin: bool,
    prompt_password: bool,
) -> None:
    """Create an account; print its id on stdout. Grid members usually need no password:
    they work through their enrolled tablets."""
    from server.access.audit import CLI

    if not units and role != Role.ADMIN:
        raise click.UsageError(f"a {role} needs at least one --unit to serve")
    password = _read_password(password_stdin, prompt_password)
    account_id = with_access(
        lambda access: access.accounts.create(
            username, display_name, Role(role), list(units), password, CLI
        )
    )
    click.echo(f"{role} {username} created, serving {', '.join(units) or 'no unit'}", err=True)
    click.echo(account_id)


@click.group()
def org() -> None:
    """The org tree: street → community → grid."""


@org.command("import")
@click.argument("file", type=click.File("r", encoding="utf-8-sig"))
@click.option("--dry-run", is_flag=True, help="Check and show the changes; apply nothing.")
def org_import(file: TextIO, dry_run: bool) -> None:
    """Create, rename and move units from a CSV file (header: code,name,level,parent).

    Prints each change on stdout; with an error in any row, prints the errors and applies
    nothing (exit code 1)."""
    from server.access.audit import CLI
    from server.access.org_import import import_units

    text = file.read()
    result = with_access(lambda access: import_units(access.org, text, CLI, dry_run=dry_run))
    for error in result.errors:
        click.echo(f"line {error.line}: {error.message}", err=True)
    if result.errors:
        raise click.ClickException(f"{len(result.errors)} errors in the file; nothing was imported")
    for change in result.changes:
        click.echo(change)
    done = "would change" if dry_run else "changed"
    click.echo(f"{done} {len(result.changes)} units", err=True)


@click.group()
def device() -> None:
    """Tablets allowed to sync: enrolled for an account, revocable."""


@device.command("enroll")
@click.option("--account", "username", required=True, help="The username the tablet serves.")
@click.option("--name", default=None, help="The device's name (default: <name>的平板).")
@click.option(
    "--server",
    "server_url",
    default=None,
    help="The address tablets reach this server at (default: http://DOORSTEP_HOST:PORT).",
)
def device_enroll(username: str, name: str | None, server_url: str | None) -> None:
    """Start an enrollment: print the one-time code on stdout, and its expiry and a QR code
    for the tablet to scan on stderr. The tablet redeems it with POST /api/enroll."""
    from server.access.audit import CLI

    async def start(engine: "AsyncEngine") -> tuple[str, datetime]:
        account_id, display_name = await _account_named(engine, username)
        enrollment = await access_services(engine).devices.start_enrollment(
            account_id, name or f"{display_name}的平板", CLI
        )
        return enrollment.code, enrollment.expires_at

    code, expires_at = with_database(start)
    settings = get_settings()
    server_url = server_url or f"http://{settings.host}:{settings.port}"
    _show_enrollment(code, expires_at, server_url)
    click.echo(code)


async def _account_named(engine: "AsyncEngine", username: str) -> tuple[str, str]:
    """The id and display name of the active account `username`."""
    from server.db.access_tables import accounts

    async with engine.connect() as connection:
        row = (
            await connection.execute(
                sa.select(accounts.c.id, accounts.c.display_name).where(
                    accounts.c.username == username, accounts.c.disabled_at.is_(None)
                )
            )
        ).first()
    if row is None:
        raise click.ClickException(f"no active account {username!r}")
    return row.id, row.display_name


def _show_enrollment(code: str, expires_at: datetime, server_url: str) -> None:
    import segno

    from server.admin.devices import enrollment_payload

    payload = enrollment_payload(server_url, code)
    local = expires_at.astimezone(SHANGHAI)
    click.echo(
        f"one-time code for {server_url}, valid once until {local:%Y-%m-%d %H:%M} "
        "(Asia/Shanghai); scan it on the tablet, or type it in:",
        err=True,
    )
    segno.make(payload).terminal(out=sys.stderr, compact=True)
    click.echo(payload, err=True)
    if urlsplit(server_url).hostname in LOOPBACK:
        click.echo(f"note: a tablet cannot reach {server_url}: give --server URL", err=True)


@device.command("list")
@click.option("--account", "username", default=None, help="Only this account's devices.")
def device_list(username: str | None) -> None:
    """Print the devices, one a line: id, account, name, last sync, state."""
    from server.db.access_tables import accounts, devices

    query = (
        sa.select(devices, accounts.c.username)
        .join(accounts, accounts.c.id == devices.c.account_id)
        .order_by(accounts.c.username, devices.c.created_at)
    )
    if username is not None:
        query = query.where(accounts.c.username == username)

    async def rows(engine: "AsyncEngine") -> list[sa.Row[Any]]:
        async with engine.connect() as connection:
            return list(await connection.execute(query))

    for row in with_database(rows):
        synced = row.last_sync_at.isoformat() if row.last_sync_at else "never synced"
        state = "revoked" if row.revoked_at else "active"
        click.echo("\t".join((row.id, row.username, row.name, synced, state)))


@device.command("revoke")
@click.argument("device_id")
def device_revoke(device_id: str) -> None:
    """Cut a device off: its next request is refused."""
    from server.access.audit import CLI

    with_access(lambda access: access.devices.revoke(device_id, CLI))
    click.echo(f"device {device_id} revoked", err=True)


@click.group()
def token() -> None:
    """Read-only API tokens for machines (nightly jobs, downstream systems)."""


@token.command("create")
@click.option("--name", required=True, help="What uses it, e.g. 'nightly export'.")
@click.option(
    "--unit", "units", multiple=True, required=True, help="Code of an org unit it may read."
)
def token_create(name: str, units: tuple[str, ...]) -> None:
    """Create a token; print it alone on stdout (shown only once) and its id on stderr."""
    from server.access.audit import CLI

    created = with_access(lambda access: access.machine_tokens.create(name, list(units), CLI))
    click.echo(
        f"token {created.id} ({name}) reads {', '.join(units)}; "
        f"`doorstep token revoke {created.id}` revokes it",
        err=True,
    )
    click.echo(created.token)


@token.command("revoke")
@click.argument("token_id")
def token_revoke(token_id: str) -> None:
    """Revoke a machine token: its next request is refused."""
    from server.access.audit import CLI

    with_access(lambda access: access.machine_tokens.revoke(token_id, CLI))
    click.echo(f"token {token_id} revoked", err=True)
