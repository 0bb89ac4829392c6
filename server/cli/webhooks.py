"""`doorstep webhook add|list|remove`: the admin API's webhooks, from the server's shell."""

import re
from typing import TYPE_CHECKING, Any

import click

from server.cli.database import with_database

if TYPE_CHECKING:
    from sqlalchemy.ext.asyncio import AsyncEngine

EVENTS = ("record.changed", "record.reviewed")


@click.group()
def webhook() -> None:
    """Webhooks: URLs told of record changes and review decisions (docs/change-feed.md)."""


@webhook.command("add")
@click.argument("url")
@click.option(
    "--event",
    "events",
    multiple=True,
    type=click.Choice(EVENTS),
    help="An event kind to send (repeatable; default: all).",
)
def webhook_add(url: str, events: tuple[str, ...]) -> None:
    """Register URL; print its signing secret alone on stdout (shown only once)."""
    from server.access.audit import CLI, Audit
    from server.webhooks import registry

    if not re.match(r"^https?://[^\s/]+", url) or len(url) > 2000:
        raise click.BadParameter("an http:// or https:// URL", param_hint="URL")
    made = with_database(
        lambda engine: registry.create(engine, Audit(engine), url, list(events or EVENTS), CLI)
    )
    click.echo(
        f"webhook {made.id} → {url}; `doorstep webhook remove {made.id}` removes it", err=True
    )
    click.echo(made.secret)


@webhook.command("list")
def webhook_list() -> None:
    """Every webhook, with its deliveries counted by status."""
    from server.webhooks import registry

    async def listed(engine: "AsyncEngine") -> list[dict[str, Any]]:
        async with engine.connect() as connection:
            return await registry.listed(connection)

    for hook in with_database(listed):
        counts = ", ".join(f"{n} {status}" for status, n in sorted(hook["deliveries"].items()))
        click.echo(f"{hook['id']}  {hook['url']}  {','.join(hook['events'])}  {counts or '-'}")


@webhook.command("remove")
@click.argument("hook_id")
def webhook_remove(hook_id: str) -> None:
    """Remove a webhook and its deliveries: nothing more is sent to it."""
    from server.access.audit import CLI, Audit
    from server.webhooks import registry

    with_database(lambda engine: registry.remove(engine, Audit(engine), hook_id, CLI))
    click.echo(f"webhook {hook_id} removed", err=True)
