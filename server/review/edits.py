"""The document edits of a review, pure pycrdt: what the server writes, laid out like the
SDK writes (docs/record-documents.md), so tablets and the projection read it unchanged."""

import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from pycrdt import Array, Doc, Map

from schemas.decode import decode
from schemas.enums import CaseLevel, CaseStatus
from schemas.review import ACTION_LABELS, CASE_ONLY, STATE_OF, ReviewAction, tablet_writes
from server.errors import ClientError
from sync.layout import meta_of, to_plain
from sync.shape import ShapeLimits

FIELD_TIMEZONE = ZoneInfo("Asia/Shanghai")
NEXT_LEVEL = {CaseLevel.GRID: CaseLevel.COMMUNITY, CaseLevel.COMMUNITY: CaseLevel.STREET}


class ReviewRefused(ClientError):
    """A decision that cannot be taken; nothing was written."""


@dataclass(frozen=True, slots=True)
class Reviewer:
    username: str
    name: str  # the display name, what tablets show as the author
    at: str  # ISO time with +08:00, like tablets write


@dataclass(frozen=True, slots=True)
class Decision:
    action: ReviewAction
    comment: str | None = None
    reason: str | None = None
    level: str | None = None  # escalate: the level the coordinator means to reach


def now_with_offset() -> str:
    return datetime.now(FIELD_TIMEZONE).isoformat(timespec="milliseconds")


def check_kind(doc: Doc[Any], kind: str) -> None:
    """A document of another kind is answered like an absent one."""
    if meta_of(doc).get("kind") != kind:
        raise ReviewRefused(404, "unknown_record", "no such record in your scope")


def current_writes(log: list[Any], field: str) -> list[str]:
    """Ids of the entries for `field` no other entry has seen: what `prev` must list
    (the SDK's `Record.current_writes`)."""
    entries = [e for e in log if isinstance(e, dict) and e.get("f") == field]
    seen = {p for e in entries for p in (e.get("prev") or []) if isinstance(p, str)}
    return [e["id"] for e in entries if isinstance(e.get("id"), str) and e["id"] not in seen]


def write_field(doc: Doc[Any], field: str, value: Any, who: Reviewer) -> None:
    """A field write with its history entry, as `record.set` does; marked as the server's."""
    heads = current_writes(to_plain(doc)["log"], field)
    entry = {"id": str(uuid.uuid4()), "f": field, "v": value, "by": who.name, "at": who.at}
    doc.get("fields", type=Map)[field] = value
    doc.get("log", type=Array).append({**entry, "prev": heads, "server": True})


def check_value(value: Any, limits: ShapeLimits) -> None:
    """Refuse a value the document could not hold (what `sync.shape` refuses of a tablet):
    nested deeper than the limit once inside its `log` entry, too many entries, too long a
    string. Walked without recursion, so any value the request decoded is answered."""
    pending: list[tuple[Any, int]] = [(value, 2)]  # the log entry is level 1
    while pending:
        item, level = pending.pop()
        if isinstance(item, str):
            _check_text(item, limits)
        elif isinstance(item, dict | list):
            if level > limits.max_depth:
                detail = f"the value nests more than {limits.max_depth - 1} levels deep"
                raise ReviewRefused(413, "too_deep", detail)
            if len(item) > limits.max_entries:
                detail = f"over {limits.max_entries} entries in one list or object"
                raise ReviewRefused(413, "value_too_large", detail)
            if isinstance(item, dict):
                for key in item:
                    _check_text(str(key), limits)
            children = item.values() if isinstance(item, dict) else item
            pending.extend((child, level + 1) for child in children)


def _check_text(text: str, limits: ShapeLimits) -> None:
    if len(text.encode("utf-8", "surrogatepass")) > limits.max_string_bytes:
        detail = f"a string over {limits.max_string_bytes} bytes"
        raise ReviewRefused(413, "value_too_large", detail)


def _case_changes(doc: Doc[Any], decision: Decision) -> dict[str, str]:
    """The case fields an action changes: status, and the level of an escalation."""
    action = decision.action
    if action is ReviewAction.ACCEPT:
        return {"status": CaseStatus.ACCEPTED.value}
    if action is ReviewAction.CLOSE:
        return {"status": CaseStatus.CLOSED.value}
    if action is ReviewAction.ESCALATE:
        level = CaseLevel.parse(doc.get("fields", type=Map).get("level")) or CaseLevel.GRID
        if level not in NEXT_LEVEL:
            raise ReviewRefused(
                400, "cannot_escalate", "the case is at street level: there is no level above"
            )
        target = NEXT_LEVEL[level].value
        if decision.level is not None and decision.level != target:
            raise ReviewRefused(
                409, "level_changed", f"the case is at {level.value}: escalating reaches {target}"
            )
        return {"level": target, "status": CaseStatus.ESCALATED.value}
    return {}


def decide(doc: Doc[Any], kind: str, decision: Decision, who: Reviewer) -> None:
    """Write a decision: case fields it changes, the `review` map and a review note."""
    check_kind(doc, kind)
    action = decision.action
    if action in CASE_ONLY and kind != "case":
        raise ReviewRefused(400, "action_not_for_kind", f"only cases can be {action.value}ed")
    if action is ReviewAction.SEND_BACK and not (decision.comment or "").strip():
        raise ReviewRefused(400, "comment_required", "say what to fix when sending a record back")
    if action is ReviewAction.ESCALATE and not (decision.reason or "").strip():
        raise ReviewRefused(400, "reason_required", "say why the case goes up a level")
    for field, value in _case_changes(doc, decision).items():
        write_field(doc, field, value, who)
    comment = decision.comment or decision.reason
    review = doc.get("review", type=Map)
    review.update(
        {
            "state": STATE_OF[action].value,
            "action": action.value,
            "by": who.username,
            "by_name": who.name,
            "at": who.at,
            "comment": comment,
            # Tablet-written log entries so far: more later means "edited" (schemas/review.py).
            "seen": tablet_writes(to_plain(doc)["log"]),
        }
    )
    note = {"id": str(uuid.uuid4()), "by": who.name, "at": who.at, "kind": "review"}
    text = comment or ACTION_LABELS[action]
    doc.get("notes", type=Array).append({**note, "text": text, "action": action.value})


def resolve(
    doc: Doc[Any], doc_id: str, kind: str, conflict_id: str, value: Any, who: Reviewer
) -> str:
    """Settle an open conflict: a write whose `prev` lists every competing entry. Returns
    the field."""
    check_kind(doc, kind)
    rows = decode(doc_id, to_plain(doc)).rows["conflicts"]
    open_ = [row for row in rows if row["conflict_id"] == conflict_id and row["status"] == "open"]
    if not open_:
        raise ReviewRefused(404, "unknown_conflict", "no such open conflict on this record")
    field: str = open_[0]["field"]
    write_field(doc, field, value, who)
    return field
