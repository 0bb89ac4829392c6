"""Watching what a tablet's update does to the roots it may not freely change.

`meta` is the tablet's in a document's first update only, `review` is the server's alone,
and `log` and `notes` are append-only: a tablet adds entries, it never edits or deletes one
(the server's review notes included). Yjs tells what an update changed through events, so
each loaded document gets one deep observer per guarded root, subscribed on the raw pycrdt
types: the wrapped events would convert every inserted value to Python, on every push.
"""

from collections.abc import Callable
from typing import Any

from pycrdt import Array, Doc, Map

from sync.errors import Reason, Refused

SERVER_OWNED = "review"
SERVER_OWNED_AFTER_CREATION = "meta"
APPEND_ONLY = ("log", "notes")


class Guard:
    """The observers of one loaded document, and what they saw during the last apply."""

    __slots__ = ("_deletes", "_subscriptions", "edited", "touched")

    def __init__(self, doc: Doc[Any]) -> None:
        self.touched: set[str] = set()  # server-owned roots written
        self.edited: set[str] = set()  # append-only roots whose entries changed
        self._deletes = False
        self._subscriptions = [
            doc.get(name, type=Map).integrated.observe_deep(self._marker(name))
            for name in (SERVER_OWNED, SERVER_OWNED_AFTER_CREATION)
        ] + [
            doc.get(name, type=Array).integrated.observe_deep(self._append_only(name))
            for name in APPEND_ONLY
        ]

    def _marker(self, name: str) -> Callable[[list[Any]], None]:
        return lambda _events: self.touched.add(name)

    def _append_only(self, name: str) -> Callable[[list[Any]], None]:
        def check(events: list[Any]) -> None:
            for event in events:
                # A change below the root is an edit of an entry; at the root, a deletion
                # (only looked for when the update deletes anything: the delta is costly).
                if event.path or (self._deletes and any("delete" in d for d in event.delta)):
                    self.edited.add(name)

        return check

    def arm(self, deletes: bool) -> None:
        """Forget what was seen; `deletes`: whether the next update deletes anything."""
        self.touched.clear()
        self.edited.clear()
        self._deletes = deletes

    def check(self, creating: bool) -> None:
        """Refuse what the last apply did that a tablet may not do."""
        touched = self.touched - ({SERVER_OWNED_AFTER_CREATION} if creating else set())
        if touched:
            raise Refused(
                Reason.SERVER_OWNED_ROOT, f"only the server writes `{min(touched)}` of a record"
            )
        if self.edited:
            raise Refused(
                Reason.APPEND_ONLY,
                f"`{min(self.edited)}` entries are never edited or deleted: add a new entry",
            )
