"""The batch sync wire format (`POST /api/sync`), MessagePack or JSON.

New fields always get defaults: tablets in the field run old versions for months.
"""

from typing import Annotated, Literal

import msgspec
from msgspec import Meta

DocId = Annotated[str, Meta(min_length=36, max_length=36)]
MAX_PUSHES = 2000


class DocUpdate(msgspec.Struct, forbid_unknown_fields=True):
    """One Yjs v1 update for one document (bytes are base64 in JSON)."""

    doc: DocId
    update: bytes


class SyncRequest(msgspec.Struct, forbid_unknown_fields=True):
    push: Annotated[list[DocUpdate], Meta(max_length=MAX_PUSHES)] = []
    # The cursor from the previous answer; none on a first sync.
    cursor: Annotated[str, Meta(max_length=4096)] | None = None
    pull: bool = True
    # Upper bound for the pulled bytes in this answer; the server may lower it. At most
    # what MessagePack carries as a signed integer.
    max_bytes: Annotated[int, Meta(ge=1, le=2**63 - 1)] | None = None


class PushResult(msgspec.Struct, omit_defaults=True):
    doc: str
    status: Literal["accepted", "duplicate", "refused"]
    reason: str | None = None
    detail: str | None = None


class Issue(msgspec.Struct):
    """A problem with a record's content: kept in the document, flagged until corrected."""

    path: str
    message: str


class DocIssues(msgspec.Struct):
    doc: str
    issues: list[Issue]


class PulledUpdate(msgspec.Struct):
    doc: str
    seq: int
    update: bytes


class SyncResponse(msgspec.Struct):
    results: list[PushResult]
    updates: list[PulledUpdate]
    # Send it back next time; unchanged when nothing was pulled.
    cursor: str | None
    # More updates are waiting: sync again with the new cursor.
    more: bool
    # Grids the tablet may no longer read: it may drop their documents locally.
    dropped_grids: list[str] = []
    # Pushed documents whose merged content has validation issues.
    issues: list[DocIssues] = []


class UpdateAnswer(msgspec.Struct, omit_defaults=True):
    """The answer to `POST /docs/{id}/update`."""

    doc: str
    status: Literal["accepted", "duplicate"]
    issues: list[Issue] = []
