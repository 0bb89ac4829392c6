"""The change feed: `GET /api/changes?since=<cursor>` (docs/change-feed.md).

Records of the caller's grids changed after the cursor, oldest change first, each at its
latest state, as JSON or NDJSON. Read like the read API: READ_RECORDS (a machine token, or
a person's session), personal data always masked (no reveal: a feed is a bulk copy, and
whoever needs a number in full asks the read API for that record), one audit row a page.
"""

from typing import Annotated, Generic, Literal, TypeVar

import msgspec
from litestar import Request, Response, get
from litestar.datastructures import ResponseHeader, State
from litestar.params import FromQuery, QueryParameter

from server.access.roles import Permission
from server.errors import ClientError
from server.feed.content import details
from server.feed.pages import Change, changed_after, decode_cursor, encode_cursor
from server.records.api import RecordDetail
from server.web.dependencies import Caller, ServicesDep
from server.web.openapi import JSON, answers, problems
from server.web.params import MAX_ID

MAX_LIMIT = 1000
# A page stops growing past this many encoded bytes (it always holds one item).
MAX_PAGE_BYTES = 4 << 20
NDJSON = "application/x-ndjson"


class ChangeItem(msgspec.Struct):
    doc_id: str
    kind: str  # household | visit | case
    grid: str
    seq: int  # the document's head: the change this item reflects
    cursor: str  # `since` for the changes after this one
    deleted: bool  # always false: records are never deleted
    # `GET /api/{kind}/{doc_id}`'s answer, masked; null for a document of no known kind.
    record: RecordDetail | None


Item = TypeVar("Item")


class ChangesPage(msgspec.Struct, Generic[Item]):
    # `ChangeItem`s, encoded once (`msgspec.Raw`) to measure the page.
    items: list[Item]
    # Pass as `since` next time (the same cursor when nothing changed).
    next: str
    # More changes are ready: ask again now.
    more: bool
    # A newer change is still being projected: ask again in a few seconds.
    waiting: bool


_encode = msgspec.json.encode


def _wants_ndjson(request: Request[object, object, State], format: str | None) -> bool:
    if format is not None:
        return format == "ndjson"
    return NDJSON in request.headers.get("accept", "")


Limit = Annotated[int, QueryParameter(ge=1, le=MAX_LIMIT)]
Format = Literal["json", "ndjson"]
HEADERS = {
    "X-Doorstep-Next": "`next`: pass as `since` next time",
    "X-Doorstep-More": "`more`: `true` or `false`",
    "X-Doorstep-Waiting": "`waiting`: `true` or `false`",
}


def _since(cursor: str | None) -> int:
    """The sequence number a cursor stands for: one a database can hold."""
    after = decode_cursor(cursor)
    if after > MAX_ID:
        raise ClientError(400, "malformed_cursor", "`since` is not a cursor this feed gave")
    return after


@get(
    "/api/changes",
    summary="Records changed after a cursor (the change feed)",
    responses=problems(400, 401, 403),
    # NDJSON: one `ChangeItem` a line (`format=ndjson`, or `Accept: application/x-ndjson`).
    opt=answers({JSON: ChangesPage[ChangeItem], NDJSON: str}),
    response_headers=[
        ResponseHeader(name=name, description=description, documentation_only=True)
        for name, description in HEADERS.items()
    ],
)
async def list_changes(
    request: Request[object, object, State],
    services: ServicesDep,
    caller: Caller,
    since: FromQuery[str | None] = None,
    limit: Limit = 100,
    format: FromQuery[Format | None] = None,
) -> Response[bytes]:
    """Oldest change first; a record changed twice comes once, at its latest state."""
    caller.require(Permission.READ_RECORDS)
    after = _since(since)
    async with services.database.connect() as connection:
        page = await changed_after(connection, after, limit, caller.grids)
        records = await details(connection, page.changes)
    items, more = _fit(page.changes, records)
    last = page.changes[len(items) - 1].seq if items else after
    more = more or page.more
    waiting = page.waiting and not more
    served = page.changes[: len(items)]
    await services.access.audit.record(
        "changes.listed",
        caller,
        target_kind="changes",
        detail={"since": since, "docs": [change.doc_id for change in served]},
    )
    headers = {
        "X-Doorstep-Next": encode_cursor(last),
        "X-Doorstep-More": str(more).lower(),
        "X-Doorstep-Waiting": str(waiting).lower(),
    }
    if _wants_ndjson(request, format):
        body = b"".join(item + b"\n" for item in items)
        return Response(body, media_type=NDJSON, headers=headers)
    answer = ChangesPage([msgspec.Raw(item) for item in items], encode_cursor(last), more, waiting)
    return Response(_encode(answer), media_type="application/json", headers=headers)


def _fit(changes: list[Change], records: dict[str, RecordDetail]) -> tuple[list[bytes], bool]:
    """The encoded items that fit the byte bound; whether some were left for the next page."""
    items: list[bytes] = []
    size = 0
    for change in changes:
        item = _encode(
            ChangeItem(
                change.doc_id,
                change.kind,
                change.grid,
                change.seq,
                encode_cursor(change.seq),
                False,
                records.get(change.doc_id),
            )
        )
        if items and size + len(item) > MAX_PAGE_BYTES:
            return items, True
        items.append(item)
        size += len(item)
    return items, False
