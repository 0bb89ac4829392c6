"""A stored document's rows, from its update log, whatever the log holds.

`decode_stored` is what the projection writes and what the nightly verify compares with:
total (it never raises) and deterministic (the same log gives the same rows). A readable
document decodes as `schemas.decode.decode` says. One the sync core cannot read (`Unreadable`:
an older server stored a value nested past the limits, and rendering it would recurse past
the stack), or whose decoding fails in any other way, is **flagged**: it is projected as
far as it goes (the readable updates before the first one that is not) and gets an issue
at `document` saying why. Without a readable `meta`, its main row comes from the kind and
grid the `documents` table holds, so the record still shows in lists and the feed.
"""

import logging
from collections.abc import Sequence
from typing import Any

from pycrdt import Doc

from schemas.decode import Decoded, Issue, decode
from sync.document import Unreadable, content_of, replay
from sync.layout import KINDS
from sync.shape import ShapeLimits

log = logging.getLogger(__name__)

# The issue path of a flagged document: no value of a document has it.
UNREADABLE_PATH = "document"
UNREADABLE = "文档无法读取，只显示其中可读的部分：{problem}"
UNSTORABLE = "记录无法写入数据库，只显示其类型和网格：{problem}"
_PROBLEM_LENGTH = 300


def decode_stored(
    doc_id: str, updates: Sequence[bytes], kind: str, grid: str, limits: ShapeLimits
) -> Decoded:
    """The rows of a document from its stored updates (in sequence order); `kind` and
    `grid` are the `documents` table's, used when the document's own `meta` is unreadable."""
    if not updates:
        problem = "the log holds no update of this document"
    else:
        try:
            return decode(doc_id, content_of(updates, limits))
        except Unreadable as unreadable:
            problem = unreadable.detail
        except Exception as error:  # pycrdt, or a bug: this document is flagged, never fatal
            log.warning("document %s could not be decoded", doc_id, exc_info=True)
            # The type only: the message could quote the content, and admins see the issue.
            problem = f"decoding failed ({type(error).__name__})"
    return flagged(doc_id, _readable_part(doc_id, updates, limits), kind, grid, problem)


def flagged(
    doc_id: str,
    content: dict[str, Any] | None,
    kind: str,
    grid: str,
    problem: str,
    message: str = UNREADABLE,
) -> Decoded:
    """`content` (the readable part; None: nothing is) decoded, with the `document` issue
    first. Without a record `meta` in it, only a main row of `kind` and `grid` and that issue."""
    issue = Issue(UNREADABLE_PATH, message.format(problem=_printable(problem)))
    if content is not None and _has_record_meta(content):
        decoded = decode(doc_id, content)
        return _with_issues(decoded, [issue, *decoded.issues])
    meta = {"kind": kind, "grid": grid} if kind in KINDS else {}
    return _with_issues(decode(doc_id, {"meta": meta}), [issue])


def is_flagged(decoded: Decoded) -> bool:
    return bool(decoded.issues) and decoded.issues[0].path == UNREADABLE_PATH


def _readable_part(doc_id: str, updates: Sequence[bytes], limits: ShapeLimits) -> Any:
    """The content of the updates before the first one that cannot be read, or None."""
    doc: Doc[Any] = Doc()
    readable = 0
    for data in updates:
        try:
            replay(doc, [data], limits)
        except Exception:  # Unreadable, or pycrdt refusing the bytes
            break
        readable += 1
    if not readable:
        return None
    try:  # checked again as a whole: types may nest across updates
        return content_of(updates[:readable], limits)
    except Exception:
        log.warning("document %s: its readable part is not", doc_id, exc_info=True)
        return None


def _has_record_meta(content: dict[str, Any]) -> bool:
    meta = content.get("meta")
    return isinstance(meta, dict) and meta.get("kind") in KINDS and bool(meta.get("grid"))


def _with_issues(decoded: Decoded, issues: list[Issue]) -> Decoded:
    """`decoded` with these issues in place of its own (rows and count included)."""
    rows = dict(decoded.rows)
    rows["validation_issues"] = [
        {"doc_id": decoded.doc_id, "position": i, "path": issue.path, "message": issue.message}
        for i, issue in enumerate(issues)
    ]
    if decoded.main_table is not None:
        rows[decoded.main_table] = [{**rows[decoded.main_table][0], "issue_count": len(issues)}]
    return Decoded(
        doc_id=decoded.doc_id, kind=decoded.kind, grid=decoded.grid, issues=issues, rows=rows
    )


def _printable(text: str) -> str:
    """A problem as any database stores it, and short."""
    text = text.replace("\x00", "\\x00").encode("utf-8", "backslashreplace").decode("utf-8")
    return text if len(text) <= _PROBLEM_LENGTH else text[: _PROBLEM_LENGTH - 1] + "…"
