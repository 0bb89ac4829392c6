"""A coordinator's write to a record: through the sync engine's server write path, then
projected and audited.

The append (its own transaction in the update log) and the audit entry are two
transactions: the audit is written right after the append commits. A crash in between
leaves the decision in the document (and in `review.by`/`at`) without its audit row.
"""

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa
from pycrdt import Doc

from server.access.principal import Principal
from server.access.roles import Permission
from server.db.access_tables import accounts
from server.errors import ClientError
from server.review.edits import (
    Decision,
    Reviewer,
    check_value,
    decide,
    now_with_offset,
    resolve,
)
from server.tablets.sync_api import decode_pushed
from server.web.dependencies import Services
from sync import Reason, Refused, Scope

# Updates the server writes are tagged with this device: no tablet has it, so every tablet
# (the record's author included) pulls them.
SERVER_DEVICE = "server"
KIND_OF = {"households": "household", "visits": "visit", "cases": "case"}


@dataclass(frozen=True, slots=True)
class Written:
    doc_id: str
    review: dict[str, Any]
    fields: dict[str, Any]


async def reviewer(services: Services, caller: Principal) -> Reviewer:
    caller.require(Permission.REVIEW)
    async with services.database.connect() as connection:
        name = await connection.scalar(
            sa.select(accounts.c.display_name).where(accounts.c.id == caller.account_id)
        )
    username = caller.username or "(unknown)"
    return Reviewer(username, name or username, now_with_offset())


async def _write(
    services: Services, caller: Principal, doc_id: str, edit: Callable[[Doc[Any]], None]
) -> Written:
    scope = Scope(SERVER_DEVICE, caller.grids)
    try:
        report = await services.sync.write_as_server(scope, doc_id, edit)
    except Refused as refused:
        if refused.reason is Reason.UNREADABLE_DOCUMENT:
            # A ClientError, so it is audited, skipped in a bulk approval, shown on the page.
            detail = f"the record's document cannot be read, so not changed: {refused.detail}"
            raise ClientError(409, Reason.UNREADABLE_DOCUMENT.value, detail) from refused
        if refused.reason not in (Reason.UNKNOWN_DOCUMENT, Reason.MALFORMED_DOCUMENT_ID):
            raise
        raise ClientError(404, "unknown_record", "no such record in your scope") from refused
    services.projection.notify(decode_pushed(report))
    content = report.contents[doc_id][1]
    return Written(doc_id, content["review"], content["fields"])


async def review_record(
    services: Services, caller: Principal, kind: str, doc_id: str, decision: Decision
) -> Written:
    who = await reviewer(services, caller)
    try:
        written = await _write(
            services, caller, doc_id, lambda doc: decide(doc, KIND_OF[kind], decision, who)
        )
    except ClientError as error:
        await _refused(services, caller, kind, doc_id, {"action": decision.action}, error)
        raise
    detail = {"action": decision.action.value, "comment": decision.comment or decision.reason}
    await _audit(services, caller, kind, doc_id, detail)
    return written


async def resolve_conflict(
    services: Services, caller: Principal, kind: str, doc_id: str, conflict_id: str, value: Any
) -> Written:
    who = await reviewer(services, caller)
    fields: list[str] = []

    def edit(doc: Doc[Any]) -> None:
        fields.append(resolve(doc, doc_id, KIND_OF[kind], conflict_id, value, who))

    detail: dict[str, Any] = {"conflict": conflict_id}
    try:
        check_value(value, services.sync.limits.shape)
        written = await _write(services, caller, doc_id, edit)
    except ClientError as error:
        await _refused(services, caller, kind, doc_id, detail, error, "conflict.resolved")
        raise
    await _audit(
        services, caller, kind, doc_id, {**detail, "field": fields[0]}, action="conflict.resolved"
    )
    return written


async def _refused(
    services: Services,
    caller: Principal,
    kind: str,
    doc_id: str,
    detail: dict[str, Any],
    error: ClientError,
    action: str = "record.reviewed",
) -> None:
    outcome = "not_found" if error.status == 404 else "refused"
    detail = {**detail, "reason": error.reason}
    await _audit(services, caller, kind, doc_id, detail, outcome, action)


async def _audit(
    services: Services,
    caller: Principal,
    kind: str,
    doc_id: str,
    detail: dict[str, Any],
    outcome: str = "ok",
    action: str = "record.reviewed",
) -> None:
    # Values written are not kept here: a resolved phone number would sit in the audit log.
    await services.access.audit.record(
        action, caller, outcome=outcome, target_kind=kind, target=doc_id[:100], detail=detail
    )
