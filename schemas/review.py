"""What a coordinator decides about a record: the server-written `review` root.

docs/record-documents.md is the contract. `review_state` is the oracle's reading of it,
shared by the projection and the console: the state the server wrote, or `edited` when a
record sent back has had a field written on a tablet since (counted, not timed: tablet
clocks drift, but the log is append-only, so more tablet entries than the review saw means
someone edited it after, or without yet knowing of, the decision).
"""

from enum import StrEnum
from typing import Any


class ReviewAction(StrEnum):
    APPROVE = "approve"
    SEND_BACK = "send_back"
    ACCEPT = "accept"  # cases only, like the next two
    ESCALATE = "escalate"
    CLOSE = "close"


class ReviewState(StrEnum):
    APPROVED = "approved"
    SENT_BACK = "sent_back"
    ACCEPTED = "accepted"
    ESCALATED = "escalated"
    CLOSED = "closed"
    # Derived, never written: sent back, then a tablet wrote a field.
    EDITED = "edited"


STATE_OF: dict[ReviewAction, ReviewState] = {
    ReviewAction.APPROVE: ReviewState.APPROVED,
    ReviewAction.SEND_BACK: ReviewState.SENT_BACK,
    ReviewAction.ACCEPT: ReviewState.ACCEPTED,
    ReviewAction.ESCALATE: ReviewState.ESCALATED,
    ReviewAction.CLOSE: ReviewState.CLOSED,
}
CASE_ONLY = frozenset({ReviewAction.ACCEPT, ReviewAction.ESCALATE, ReviewAction.CLOSE})
# What a tablet's timeline shows for a review note without a comment.
ACTION_LABELS: dict[ReviewAction, str] = {
    ReviewAction.APPROVE: "审核通过",
    ReviewAction.SEND_BACK: "退回修改",
    ReviewAction.ACCEPT: "受理",
    ReviewAction.ESCALATE: "上报",
    ReviewAction.CLOSE: "结案",
}
_WRITTEN = frozenset(STATE_OF.values())


def tablet_writes(log: Any) -> int:
    """Log entries written on tablets: the server marks its own with `"server": true`."""
    if not isinstance(log, list):
        return 0
    return sum(1 for entry in log if isinstance(entry, dict) and entry.get("server") is not True)


def review_state(review: Any, log: Any) -> str | None:
    """The state a coordinator sees; None when not reviewed or the state is not one the
    server writes (the server owns `review`, so it is not a tablet's issue to report)."""
    state = review.get("state") if isinstance(review, dict) else None
    if not isinstance(state, str) or state not in _WRITTEN:  # a list is not even hashable
        return None
    seen = review.get("seen")
    counted = isinstance(seen, int | float) and not isinstance(seen, bool)
    if state == ReviewState.SENT_BACK and counted and tablet_writes(log) > seen:
        return ReviewState.EDITED.value
    return str(state)
