"""`POST /api/sync`: push updates and pull what changed, in one round trip."""

import msgspec
from litestar import Request, Response, post
from litestar.background_tasks import BackgroundTask
from litestar.datastructures import State

from schemas.decode import decode
from schemas.wire import DocIssues, Issue, PulledUpdate, PushResult, SyncRequest, SyncResponse
from server.errors import ClientError
from server.records.projection import Decoding
from server.web.dependencies import Caller, ServicesDep
from server.web.openapi import JSON, MSGPACK, answers, problems, takes
from sync import PushItem, PushReport, SyncEngine
from sync.cursor import decode_cursor

MSGPACK_TYPES = frozenset(
    {"application/msgpack", "application/x-msgpack", "application/vnd.msgpack"}
)
_msgpack_request = msgspec.msgpack.Decoder(SyncRequest)
_json_request = msgspec.json.Decoder(SyncRequest)
_msgpack_encoder = msgspec.msgpack.Encoder()
_json_encoder = msgspec.json.Encoder()


def _decode(content_type: str, body: bytes) -> SyncRequest:
    if not body:
        raise ClientError(400, "empty_body", "the request has no body")
    try:
        if content_type in MSGPACK_TYPES:
            return _msgpack_request.decode(body)
        if content_type == "application/json":
            return _json_request.decode(body)
    # ValidationError is a DecodeError; MessagePack strings that are not UTF-8 raise
    # UnicodeDecodeError (msgspec 0.19).
    except (msgspec.DecodeError, UnicodeDecodeError) as error:
        raise ClientError(400, "malformed_request", str(error)) from error
    raise ClientError(
        415, "unsupported_media_type", "send application/msgpack (or application/json)"
    )


async def _compact(engine: SyncEngine, doc_ids: list[str]) -> None:
    for doc_id in doc_ids:
        await engine.compact(doc_id)


def decode_pushed(report: PushReport) -> dict[str, Decoding]:
    """The pushed documents decoded, for the projection and for the tablet's issues."""
    return {
        doc_id: (seq, decode(doc_id, content)) for doc_id, (seq, content) in report.contents.items()
    }


def issues_in(decoded: dict[str, Decoding]) -> list[DocIssues]:
    return [
        DocIssues(doc_id, [Issue(i.path, i.message) for i in record.issues])
        for doc_id, (_, record) in decoded.items()
        if record.issues
    ]


def _sync_detail(answer: SyncResponse) -> dict[str, object]:
    """What the audit log keeps of a sync: how much moved, and which documents were refused."""
    refused = [r.doc for r in answer.results if r.status == "refused"]
    return {
        "pushed": len(answer.results) - len(refused),
        "refused": refused[:50],
        "pulled": len(answer.updates),
        "dropped_grids": answer.dropped_grids,
    }


@post(
    "/api/sync",
    status_code=200,
    summary="Push updates and pull what changed, in one round trip",
    responses=problems(400, 401, 403, 413, 415, 503),
    opt=takes({MSGPACK: SyncRequest, JSON: SyncRequest})
    | answers({MSGPACK: SyncResponse, JSON: SyncResponse}),
)
async def sync_batch(
    request: Request[object, object, State], services: ServicesDep, caller: Caller
) -> Response[bytes]:
    content_type = request.headers.get("content-type", "").partition(";")[0].strip().lower()
    sync_request = _decode(content_type, await request.body())
    engine, scope = services.sync, caller.sync_scope()
    decode_cursor(sync_request.cursor)  # a bad cursor is refused before anything is stored
    report = await engine.push(scope, [PushItem(p.doc, p.update) for p in sync_request.push])
    decoded = decode_pushed(report)
    services.projection.notify(decoded)
    answer = SyncResponse(
        results=[PushResult(o.doc_id, o.status, o.reason, o.detail) for o in report.outcomes],
        updates=[],
        cursor=sync_request.cursor,
        more=False,
        issues=issues_in(decoded),
    )
    if sync_request.pull:
        page = await engine.pull(scope, sync_request.cursor, sync_request.max_bytes)
        answer.updates = [PulledUpdate(u.doc_id, u.seq, u.data) for u in page.updates]
        answer.cursor, answer.more, answer.dropped_grids = (
            page.cursor,
            page.more,
            page.dropped_grids,
        )
    await services.access.devices.synced(caller, _sync_detail(answer))
    as_msgpack = content_type in MSGPACK_TYPES
    return Response(
        (_msgpack_encoder if as_msgpack else _json_encoder).encode(answer),
        media_type="application/msgpack" if as_msgpack else "application/json",
        background=BackgroundTask(_compact, engine, report.to_compact)
        if report.to_compact
        else None,
    )
