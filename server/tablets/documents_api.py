"""Per-document raw Yjs v1 endpoints, usable by any Yjs implementation."""

import base64
import binascii

from litestar import Request, Response, get, post
from litestar.datastructures import State
from litestar.params import FromPath, FromQuery

from schemas.wire import UpdateAnswer
from server.tablets.sync_api import decode_pushed, issues_in
from server.web.dependencies import Caller, ServicesDep
from server.web.openapi import OCTETS, problems, takes
from sync import PushItem, Reason, Refused

# Reads: a malformed id or state vector, no credentials, a token that may not sync, an
# absent (or out of scope) document, one stored unreadable.
READS = problems(400, 401, 403, 404, 409)


def _state_vector(encoded: str | None) -> bytes | None:
    if encoded is None:
        return None
    try:
        return base64.urlsafe_b64decode(encoded + "=" * (-len(encoded) % 4))
    except (binascii.Error, ValueError) as error:
        raise Refused(Reason.MALFORMED_STATE_VECTOR, "sv is base64url of a state vector") from error


@get("/docs/{doc_id:str}/state", media_type=OCTETS, summary="State vector", responses=READS)
async def get_state(doc_id: FromPath[str], services: ServicesDep, caller: Caller) -> bytes:
    """The server's state vector of the document."""
    return await services.sync.state_vector(caller.sync_scope(), doc_id)


@get("/docs/{doc_id:str}/update", media_type=OCTETS, summary="Missing updates", responses=READS)
async def get_update(
    doc_id: FromPath[str], services: ServicesDep, caller: Caller, sv: FromQuery[str | None] = None
) -> bytes:
    """The update a replica at state vector `sv` lacks; the whole document without `sv`."""
    return await services.sync.diff(caller.sync_scope(), doc_id, _state_vector(sv))


@post(
    "/docs/{doc_id:str}/update",
    status_code=200,
    summary="Apply one raw Yjs v1 update",
    # Every refusal of docs/record-documents.md, by its status; the body's own size.
    responses=problems(400, 401, 403, 404, 409, 413, 422, 503),
    opt=takes({OCTETS: bytes}),
)
async def post_update(
    doc_id: FromPath[str],
    request: Request[object, object, State],
    services: ServicesDep,
    caller: Caller,
) -> Response[UpdateAnswer]:
    """Apply one update; durable when answered."""
    report = await services.sync.push(caller.sync_scope(), [PushItem(doc_id, await request.body())])
    outcome = report.outcomes[0]
    await services.access.devices.synced(
        caller, {"doc": doc_id, "status": outcome.status, "reason": outcome.reason}
    )
    if outcome.status == "refused":
        assert outcome.reason is not None and outcome.detail is not None
        raise Refused(outcome.reason, outcome.detail)
    decoded = decode_pushed(report)
    services.projection.notify(decoded)
    issues = issues_in(decoded)
    return Response(UpdateAnswer(doc_id, outcome.status, issues[0].issues if issues else []))
