"""Read-only API tokens for machines (nightly jobs, downstream systems): admins only."""

from typing import Annotated

import msgspec
from litestar import Request, get, post
from litestar.datastructures import State
from litestar.params import FromPath

from server.access.listing import TokenView, list_tokens
from server.access.roles import Permission
from server.admin.common import BODY_REFUSED, NO_STORE, REFUSED, allow, json_body, read_json
from server.errors import ClientError
from server.web.dependencies import Caller, ServicesDep
from server.web.openapi import problems

TokenName = Annotated[str, msgspec.Meta(min_length=1, max_length=100, pattern=r"\S")]
# A token with no unit would see nothing.
TokenUnits = Annotated[
    list[Annotated[str, msgspec.Meta(max_length=64)]], msgspec.Meta(min_length=1, max_length=500)
]


class TokenList(msgspec.Struct):
    # Oldest first; revoked tokens included.
    items: list[TokenView]


class NewToken(msgspec.Struct, forbid_unknown_fields=True, frozen=True):
    name: TokenName
    units: TokenUnits


class CreatedToken(msgspec.Struct):
    id: str
    # Shown this once: only its hash is kept.
    token: str


_new_token = msgspec.json.Decoder(NewToken)


@get("/api/admin/tokens", summary="Machine tokens", responses=problems(*REFUSED))
async def list_all(services: ServicesDep, caller: Caller) -> TokenList:
    allow(caller, Permission.ADMIN)
    async with services.database.connect() as connection:
        return TokenList(await list_tokens(connection))


@post(
    "/api/admin/tokens",
    status_code=201,
    cache_control=NO_STORE,
    summary="Create a read-only machine token",
    responses=problems(*BODY_REFUSED),
    opt=json_body(NewToken),
)
async def create(
    request: Request[object, object, State], services: ServicesDep, caller: Caller
) -> CreatedToken:
    allow(caller, Permission.ADMIN)
    body = await read_json(request, _new_token)
    created = await services.access.machine_tokens.create(body.name, body.units, caller)
    return CreatedToken(created.id, created.token)


@post(
    "/api/admin/tokens/{token_id:str}/revoke",
    status_code=204,
    summary="Revoke a token",
    responses=problems(*REFUSED, 404),
)
async def revoke(token_id: FromPath[str], services: ServicesDep, caller: Caller) -> None:
    """Its next request is refused. Revoking a revoked token again changes nothing."""
    allow(caller, Permission.ADMIN)
    async with services.database.connect() as connection:
        found = await list_tokens(connection, token_id)
    if not found:
        raise ClientError(404, "unknown_token", "no such token")
    if found[0].revoked_at is None:
        await services.access.machine_tokens.revoke(token_id, caller)


ROUTES = [list_all, create, revoke]
