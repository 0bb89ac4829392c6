"""HTTP for review actions and conflict resolution (docs/access.md: needs REVIEW; a record
outside the caller's grids is answered 404, as if absent).

A resolved value is any JSON, and msgspec's parser recurses: a body nested 1,000 deep
would raise RecursionError (a 500) before the handler runs. So each body is measured
first, without recursion (`json_depth`), and refused `too_deep` past `MAX_BODY_DEPTH`;
the value itself is then held to the document's limits (`server.review.edits.check_value`).
"""

import re
from itertools import accumulate
from typing import Annotated, Any, Literal

import msgspec
from litestar import Request, post
from litestar.datastructures import State
from litestar.params import FromPath, JSONBody
from msgspec import Meta

from schemas.review import ReviewAction
from server.errors import ClientError
from server.records.api import KindName
from server.review.edits import Decision
from server.review.service import Written, resolve_conflict, review_record
from server.web.dependencies import Caller, ServicesDep

Text = Annotated[str, Meta(max_length=1000)]
MAX_BULK = 200
# A review request is small: a decision, 200 ids, or one value of a record.
MAX_BODY_BYTES = 1 << 20
# Far below msgspec's recursion limit, above any value a document holds (32 levels).
MAX_BODY_DEPTH = 64
_JSON_STRING = re.compile(rb'"(?:[^"\\]|\\.)*"', re.DOTALL)
_NOT_BRACKETS = bytes(byte for byte in range(256) if byte not in b"[]{}")
_STEP = [1 if byte in b"[{" else -1 for byte in range(256)]


def json_depth(body: bytes) -> int:
    """How deep a JSON text's arrays and objects nest (strings and their escapes aside),
    without parsing it."""
    brackets = _JSON_STRING.sub(b"", body).translate(None, _NOT_BRACKETS)
    return max(accumulate(map(_STEP.__getitem__, brackets)), default=0)


async def _not_too_deep(request: Request[Any, Any, State]) -> None:
    """Run before the body is parsed (a `before_request` hook)."""
    if json_depth(await request.body()) > MAX_BODY_DEPTH:
        detail = f"the JSON body nests more than {MAX_BODY_DEPTH} levels deep"
        raise ClientError(413, "too_deep", detail)


class ReviewRequest(msgspec.Struct, forbid_unknown_fields=True):
    action: ReviewAction
    comment: Text | None = None
    reason: Text | None = None
    # For `escalate`, optional: the level the caller means to reach. Checked, not chosen:
    # a case escalated meanwhile by someone else is not pushed two levels up.
    level: str | None = None


class BulkReviewRequest(msgspec.Struct, forbid_unknown_fields=True):
    doc_ids: Annotated[list[str], Meta(min_length=1, max_length=MAX_BULK)]
    action: Literal["approve"]
    comment: Text | None = None


class ResolveRequest(msgspec.Struct, forbid_unknown_fields=True):
    value: Any


class ReviewAnswer(msgspec.Struct):
    doc_id: str
    review: dict[str, Any]
    fields: dict[str, Any]


class BulkOutcome(msgspec.Struct, omit_defaults=True):
    doc_id: str
    status: Literal["approved", "refused"]
    reason: str | None = None
    detail: str | None = None


class BulkAnswer(msgspec.Struct):
    results: list[BulkOutcome]


def _answer(written: Written) -> ReviewAnswer:
    return ReviewAnswer(written.doc_id, written.review, written.fields)


@post(
    "/api/{kind:str}/{doc_id:str}/review",
    status_code=200,
    summary="Review one record",
    before_request=_not_too_deep,
    request_max_body_size=MAX_BODY_BYTES,
)
async def review_one(
    kind: FromPath[KindName],
    doc_id: FromPath[str],
    data: JSONBody[ReviewRequest],
    services: ServicesDep,
    caller: Caller,
) -> ReviewAnswer:
    decision = Decision(data.action, data.comment, data.reason, data.level)
    return _answer(await review_record(services, caller, kind, doc_id, decision))


@post(
    "/api/{kind:str}/review",
    status_code=200,
    summary="Approve many records at once",
    before_request=_not_too_deep,
    request_max_body_size=MAX_BODY_BYTES,
)
async def review_many(
    kind: FromPath[KindName],
    data: JSONBody[BulkReviewRequest],
    services: ServicesDep,
    caller: Caller,
) -> BulkAnswer:
    results = []
    for doc_id in dict.fromkeys(data.doc_ids):
        decision = Decision(ReviewAction.APPROVE, data.comment)
        try:
            await review_record(services, caller, kind, doc_id, decision)
        except ClientError as error:
            if error.status == 403:
                raise  # no right at all: the whole request is refused
            results.append(BulkOutcome(doc_id, "refused", error.reason, error.detail))
            continue
        results.append(BulkOutcome(doc_id, "approved"))
    return BulkAnswer(results)


@post(
    "/api/{kind:str}/{doc_id:str}/conflicts/{conflict_id:str}/resolve",
    status_code=200,
    summary="Settle a conflict with one of the competing values or a new one",
    before_request=_not_too_deep,
    request_max_body_size=MAX_BODY_BYTES,
)
async def resolve(
    kind: FromPath[KindName],
    doc_id: FromPath[str],
    conflict_id: FromPath[str],
    data: JSONBody[ResolveRequest],
    services: ServicesDep,
    caller: Caller,
) -> ReviewAnswer:
    return _answer(await resolve_conflict(services, caller, kind, doc_id, conflict_id, data.value))


ROUTES = [review_one, review_many, resolve]
