"""HTTP for review actions and conflict resolution (docs/access.md: needs REVIEW; a record
outside the caller's grids is answered 404, as if absent)."""

from typing import Annotated, Any, Literal

import msgspec
from litestar import post
from litestar.params import FromPath, JSONBody
from msgspec import Meta

from schemas.review import ReviewAction
from server.errors import ClientError
from server.records_api import KindName
from server.review.edits import Decision
from server.review.service import Written, resolve_conflict, review_record
from server.wiring import Caller, ServicesDep

Text = Annotated[str, Meta(max_length=1000)]
MAX_BULK = 200


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


@post("/api/{kind:str}/{doc_id:str}/review", status_code=200, summary="Review one record")
async def review_one(
    kind: FromPath[KindName],
    doc_id: FromPath[str],
    data: JSONBody[ReviewRequest],
    services: ServicesDep,
    caller: Caller,
) -> ReviewAnswer:
    decision = Decision(data.action, data.comment, data.reason, data.level)
    return _answer(await review_record(services, caller, kind, doc_id, decision))


@post("/api/{kind:str}/review", status_code=200, summary="Approve many records at once")
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
