"""A record document behind plain calls: `record.set("phone", ...)`, `record.add_note(...)`.

The layout is the contract of docs/record-documents.md: `meta`, `fields`, a `log`
entry per field write (with the ids of the writes it had seen as `prev`, and the tablet's
device id when it knows it), and append-only `notes`.
"""

import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from pycrdt import Array, Doc, Map

SCHEMA_VERSION = 1
FIELD_TIMEZONE = ZoneInfo("Asia/Shanghai")


def now_with_offset() -> str:
    """Tablets write local time with its offset (+08:00); the server stores UTC."""
    return datetime.now(FIELD_TIMEZONE).isoformat(timespec="milliseconds")


def _plain(entry: Any) -> dict[str, Any]:
    """Log and notes entries may be plain JSON or nested Y.Maps (stock Yjs apps do both)."""
    value = entry.to_py() if isinstance(entry, Map) else entry
    return dict(value) if isinstance(value, dict) else {"value": value}


class Record:
    def __init__(
        self,
        doc_id: str,
        doc: Doc[Any],
        author: str,
        on_edit: Callable[["Record", bytes], None],
        device: str | None = None,
    ):
        self.id = doc_id
        self.doc = doc
        self._author = author
        self._on_edit = on_edit
        self._device = device  # the server's id of this tablet, named in each log entry
        self._depth = 0

    @property
    def meta(self) -> dict[str, Any]:
        return self.doc.get("meta", type=Map).to_py() or {}

    @property
    def kind(self) -> str:
        return str(self.meta.get("kind", ""))

    @property
    def grid(self) -> str:
        return str(self.meta.get("grid", ""))

    @property
    def fields(self) -> dict[str, Any]:
        return self.doc.get("fields", type=Map).to_py() or {}

    @property
    def log(self) -> list[dict[str, Any]]:
        return [_plain(entry) for entry in self.doc.get("log", type=Array)]

    @property
    def notes(self) -> list[dict[str, Any]]:
        return [_plain(entry) for entry in self.doc.get("notes", type=Array)]

    @property
    def review(self) -> dict[str, Any]:
        return self.doc.get("review", type=Map).to_py() or {}

    def get(self, field: str, default: Any = None) -> Any:
        return self.fields.get(field, default)

    def current_writes(self, field: str) -> list[str]:
        """Ids of the log entries for `field` that no later entry has seen: one, or a conflict."""
        entries = [entry for entry in self.log if entry.get("f") == field]
        seen = {prev for entry in entries for prev in entry.get("prev") or []}
        return [entry["id"] for entry in entries if entry.get("id") not in seen]

    def set(self, field: str, value: Any) -> None:
        """Write a field (and its history entry) in one transaction."""
        with self.edit():
            self._write(field, value)

    def add_note(self, text: str, kind: str = "note", **extra: Any) -> str:
        """Append a note; a correction is a new note, never an edit. Returns its id."""
        note_id = str(uuid.uuid4())
        entry = {"id": note_id, "by": self._author, "at": now_with_offset(), "kind": kind}
        with self.edit():
            self.doc.get("notes", type=Array).append({**entry, **extra, "text": text})
        return note_id

    def _write(self, field: str, value: Any) -> None:
        entry = {
            "id": str(uuid.uuid4()),
            "f": field,
            "v": value,
            "by": self._author,
            "at": now_with_offset(),
            "prev": self.current_writes(field),
        }
        if self._device is not None:
            entry["device"] = self._device
        self.doc.get("fields", type=Map)[field] = value
        self.doc.get("log", type=Array).append(entry)

    @contextmanager
    def edit(self) -> Iterator[None]:
        """Group writes into one transaction; the outermost block sends one update."""
        if self._depth:
            self._depth += 1
            try:
                yield
            finally:
                self._depth -= 1
            return
        before = self.doc.get_state()
        self._depth = 1
        try:
            with self.doc.transaction(origin="tablet"):
                yield
        finally:
            self._depth = 0
        self._on_edit(self, self.doc.get_update(before))

    def initialise(self, kind: str, grid: str, fields: dict[str, Any]) -> None:
        with self.edit():
            meta = self.doc.get("meta", type=Map)
            meta.update(
                {
                    "kind": kind,
                    "grid": grid,
                    "created_by": self._author,
                    "created_at": now_with_offset(),
                    "schema": SCHEMA_VERSION,
                }
            )
            for field, value in fields.items():
                self._write(field, value)

    def to_plain(self) -> dict[str, Any]:
        return {
            "meta": self.meta,
            "fields": self.fields,
            "log": self.log,
            "notes": self.notes,
            "review": self.review,
        }
