"""Review and conflict resolution on a record's page.

Plain form posts (the session's CSRF token comes as the `csrf_token` field), answered by a
redirect back to the page (Post/Redirect/Get): `?done=` says what was done, `?review_error=`
what was wrong. The writes go through `server.review.service`, as the API's do; the record
is then projected at once, so the page the coordinator lands on already shows the decision.
"""

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Literal
from urllib.parse import urlencode

from litestar import Request, post
from litestar.datastructures import State
from litestar.params import FromPath
from litestar.response import Redirect

from schemas.enums import CaseLevel
from schemas.review import ReviewAction
from server.access.principal import Principal
from server.access.roles import Permission
from server.errors import ClientError
from server.records.api import KINDS, record_detail
from server.review.edits import NEXT_LEVEL, Decision
from server.review.service import resolve_conflict, review_record
from server.web.dependencies import Caller, Services, ServicesDep

KindName = Literal["visits", "cases", "households"]
MAX_TEXT = 1000  # the review API's limit on a comment or reason
# What the page may be told went wrong (anything else is not reflected back).
ERRORS = frozenset(
    {
        "comment_required",
        "reason_required",
        "cannot_escalate",
        "level_changed",
        "action_not_for_kind",
        "unknown_conflict",
        "value_required",
        "too_long",
        "unknown_action",
        "unreadable_document",
        "too_deep",
        "value_too_large",
    }
)
DONE = frozenset({*(action.value for action in ReviewAction), "resolved"})


@dataclass(frozen=True, slots=True)
class Panel:
    """What the review part of a record page shows."""

    can_review: bool
    state: str | None  # the projected review state; None: not reviewed
    is_case: bool
    escalate_to: str | None  # the level an escalation reaches; None at street level
    error: str | None  # a key of ERRORS, from the redirect after a refused post
    done: str | None  # an action (or "resolved") just taken


def _known(value: str | None, known: frozenset[str]) -> str | None:
    return value if value in known else None


def panel(
    request: Request[Any, Any, State], caller: Principal, kind: str, record: Mapping[str, Any]
) -> Panel:
    is_case = kind == "cases"
    level = CaseLevel.parse(record.get("level")) or CaseLevel.GRID
    target = NEXT_LEVEL.get(level)
    params = request.query_params
    return Panel(
        can_review=caller.can(Permission.REVIEW),
        state=record.get("review_state"),
        is_case=is_case,
        escalate_to=target.value if is_case and target else None,
        error=_known(params.get("review_error"), ERRORS),
        done=_known(params.get("done"), DONE),
    )


def _back(kind: str, doc_id: str, **outcome: str) -> Redirect:
    query = f"?{urlencode(outcome)}" if outcome else ""
    return Redirect(f"/console/{kind}/{doc_id}{query}#review", status_code=303)


def _text(form: Mapping[str, Any], name: str) -> str | None:
    """A form field, stripped; blank is absent. Too long is refused, not cut short."""
    value = form.get(name)
    text = value.strip() if isinstance(value, str) else ""
    if len(text) > MAX_TEXT:
        raise ClientError(400, "too_long", f"`{name}` is longer than {MAX_TEXT} characters")
    return text or None


def _decision(form: Mapping[str, Any]) -> Decision:
    try:
        action = ReviewAction(str(form.get("action")))
    except ValueError as error:
        raise ClientError(400, "unknown_action", "no such review action") from error
    return Decision(action, _text(form, "comment"), _text(form, "reason"), _text(form, "level"))


async def _shown_at_once(services: Services, doc_id: str) -> None:
    """The worker would project it shortly; the page after the redirect needs it now.
    Idempotent: whichever write comes second finds the rows already as new."""
    await services.projection.projector.project([doc_id])


@post("/console/{kind:str}/{doc_id:str}/review", include_in_schema=False, status_code=303)
async def review(
    request: Request[Any, Any, State],
    kind: FromPath[KindName],
    doc_id: FromPath[str],
    services: ServicesDep,
    caller: Caller,
) -> Redirect:
    """Approve, send back (a comment required), and for cases accept, escalate (a reason
    required) or close. No right, or not in the caller's area: an error page."""
    caller.require(Permission.REVIEW)
    try:
        decision = _decision(await request.form())
        await review_record(services, caller, kind, doc_id, decision)
    except ClientError as error:
        if error.status in (401, 403, 404):
            raise
        return _back(kind, doc_id, review_error=error.reason)
    await _shown_at_once(services, doc_id)
    return _back(kind, doc_id, done=decision.action.value)


async def _chosen_value(
    services: Services, caller: Principal, kind: KindName, doc_id: str, conflict_id: str, entry: str
) -> Any:
    """The value of a competing entry, read unmasked: the page shows a phone number masked,
    so the button names the entry, never the value."""
    async with services.database.connect() as connection:
        detail = await record_detail(connection, KINDS[kind], caller.grids, doc_id)
    for conflict in detail.conflicts:
        if conflict["conflict_id"] != conflict_id:
            continue
        for candidate in conflict["entries"]:
            if candidate.get("entry_id") == entry:
                return candidate.get("value")
    raise ClientError(409, "unknown_conflict", "that conflict is settled or gone")


@post(
    "/console/{kind:str}/{doc_id:str}/conflicts/{conflict_id:str}/resolve",
    include_in_schema=False,
    status_code=303,
)
async def resolve(
    request: Request[Any, Any, State],
    kind: FromPath[KindName],
    doc_id: FromPath[str],
    conflict_id: FromPath[str],
    services: ServicesDep,
    caller: Caller,
) -> Redirect:
    """Settle a conflict with one competing value (`entry`) or a typed one (`value`)."""
    caller.require(Permission.REVIEW)
    form = await request.form()
    try:
        entry = form.get("entry")
        if isinstance(entry, str) and entry:
            value = await _chosen_value(services, caller, kind, doc_id, conflict_id, entry)
        elif (text := _text(form, "value")) is not None:
            # Typed values are text: a coded or numeric field is settled by choosing one
            # of the competing values (a wrong type would show as a validation issue).
            value = text
        else:
            raise ClientError(400, "value_required", "choose a value or type a new one")
        await resolve_conflict(services, caller, kind, doc_id, conflict_id, value)
    except ClientError as error:
        if error.status in (401, 403) or error.reason == "unknown_record":
            raise
        return _back(kind, doc_id, review_error=error.reason)
    await _shown_at_once(services, doc_id)
    return _back(kind, doc_id, done="resolved")


ROUTES = [review, resolve]
