"""Webhooks: admins register URLs, see deliveries and replay parked ones (sessions only,
like the rest of the admin API; docs/change-feed.md)."""

from datetime import datetime
from typing import Annotated, Any, Literal

import msgspec
from litestar import Request, delete, get, post
from litestar.datastructures import State
from litestar.params import FromPath, FromQuery, QueryParameter

from server.access.roles import Permission
from server.admin.common import BODY_REFUSED, NO_STORE, REFUSED, allow, json_body, read_json
from server.web.dependencies import Caller, ServicesDep
from server.web.openapi import problems
from server.webhooks import registry

Url = Annotated[str, msgspec.Meta(max_length=2000, pattern=r"^https?://[^\s/]+")]
Event = Literal["record.changed", "record.reviewed"]


class NewWebhook(msgspec.Struct, forbid_unknown_fields=True, frozen=True):
    url: Url
    events: Annotated[list[Event], msgspec.Meta(min_length=1)] = msgspec.field(
        default_factory=lambda: ["record.changed", "record.reviewed"]
    )


class CreatedWebhook(msgspec.Struct):
    id: str
    url: str
    events: list[str]
    # Shown this once; the receiver verifies signatures with it.
    secret: str


class WebhookView(msgspec.Struct):
    id: str
    url: str
    events: list[str]
    created_at: datetime
    # Deliveries by status: pending, delivered, parked.
    deliveries: dict[str, int]


class WebhookList(msgspec.Struct):
    items: list[WebhookView]


class DeliveryList(msgspec.Struct):
    # Newest first.
    items: list[dict[str, Any]]


class Replayed(msgspec.Struct):
    replayed: int


_new_webhook = msgspec.json.Decoder(NewWebhook)
Status = Literal["pending", "delivered", "parked"]
Limit = Annotated[int, QueryParameter(ge=1, le=500)]


@get("/api/admin/webhooks", summary="Webhooks", responses=problems(*REFUSED))
async def list_all(services: ServicesDep, caller: Caller) -> WebhookList:
    allow(caller, Permission.ADMIN)
    async with services.database.connect() as connection:
        rows = await registry.listed(connection)
    return WebhookList([WebhookView(**row) for row in rows])


@post(
    "/api/admin/webhooks",
    status_code=201,
    cache_control=NO_STORE,
    summary="Register a webhook (its signing secret is shown once)",
    responses=problems(*BODY_REFUSED),
    opt=json_body(NewWebhook),
)
async def create(
    request: Request[object, object, State], services: ServicesDep, caller: Caller
) -> CreatedWebhook:
    allow(caller, Permission.ADMIN)
    body = await read_json(request, _new_webhook)
    made = await registry.create(
        services.database, services.access.audit, body.url, list(body.events), caller
    )
    return CreatedWebhook(made.id, body.url, sorted(set(body.events)), made.secret)


@delete(
    "/api/admin/webhooks/{hook_id:str}",
    status_code=204,
    summary="Remove a webhook",
    responses=problems(*REFUSED, 404),
)
async def remove(hook_id: FromPath[str], services: ServicesDep, caller: Caller) -> None:
    allow(caller, Permission.ADMIN)
    await registry.remove(services.database, services.access.audit, hook_id, caller)


@get(
    "/api/admin/webhooks/{hook_id:str}/deliveries",
    summary="A webhook's deliveries",
    responses=problems(400, *REFUSED, 404),
)
async def deliveries(
    hook_id: FromPath[str],
    services: ServicesDep,
    caller: Caller,
    status: FromQuery[Status | None] = None,
    limit: Limit = 100,
) -> DeliveryList:
    allow(caller, Permission.ADMIN)
    async with services.database.connect() as connection:
        return DeliveryList(await registry.deliveries(connection, hook_id, status, limit))


@post(
    "/api/admin/webhooks/{hook_id:str}/replay",
    status_code=200,
    summary="Replay parked",
    responses=problems(*REFUSED, 404),
)
async def replay_parked(hook_id: FromPath[str], services: ServicesDep, caller: Caller) -> Replayed:
    """Every parked delivery of the webhook starts over, with a fresh count of attempts."""
    allow(caller, Permission.ADMIN)
    count = await registry.replay(services.database, services.access.audit, hook_id, None, caller)
    return Replayed(count)


@post(
    "/api/admin/webhooks/{hook_id:str}/deliveries/{delivery_id:str}/replay",
    status_code=200,
    summary="Replay one parked delivery",
    responses=problems(*REFUSED, 404),
)
async def replay_one(
    hook_id: FromPath[str], delivery_id: FromPath[str], services: ServicesDep, caller: Caller
) -> Replayed:
    allow(caller, Permission.ADMIN)
    audit = services.access.audit
    count = await registry.replay(services.database, audit, hook_id, delivery_id, caller)
    return Replayed(count)


ROUTES = [list_all, create, remove, deliveries, replay_parked, replay_one]
