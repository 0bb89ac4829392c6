"""The tablet's own SQLite file: document states, the outbox, the pull cursor and the
device token.

Every change to it is one SQLite transaction, so a tablet killed at any moment
reopens with its edits either fully recorded (state and outbox) or not at all.
"""

import sqlite3
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

_SCHEMA = """
CREATE TABLE IF NOT EXISTS docs (id TEXT PRIMARY KEY, state BLOB NOT NULL);
CREATE TABLE IF NOT EXISTS outbox (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    doc_id TEXT NOT NULL,
    data BLOB NOT NULL,
    refused_reason TEXT,
    refused_detail TEXT
);
CREATE TABLE IF NOT EXISTS settings (key TEXT PRIMARY KEY, value TEXT NOT NULL);
"""


@dataclass(frozen=True, slots=True)
class Pending:
    id: int
    doc_id: str
    data: bytes


@dataclass(frozen=True, slots=True)
class Refusal:
    doc_id: str
    reason: str
    detail: str


class LocalStore:
    def __init__(self, path: str | Path) -> None:
        self._db = sqlite3.connect(path, isolation_level=None)
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute("PRAGMA synchronous=FULL")
        self._db.executescript(_SCHEMA)

    def close(self) -> None:
        self._db.close()

    def doc_ids(self) -> list[str]:
        return [row[0] for row in self._db.execute("SELECT id FROM docs ORDER BY id")]

    def state(self, doc_id: str) -> bytes | None:
        row = self._db.execute("SELECT state FROM docs WHERE id = ?", (doc_id,)).fetchone()
        return None if row is None else bytes(row[0])

    def save_edit(self, doc_id: str, state: bytes, update: bytes) -> None:
        """A local edit: the new document state and the update to send, together."""
        with self._transaction():
            self._put_state(doc_id, state)
            self._db.execute("INSERT INTO outbox (doc_id, data) VALUES (?, ?)", (doc_id, update))

    def save_pulled(
        self, states: dict[str, bytes], cursor: str | None, drop: Iterable[str] = ()
    ) -> None:
        """Pulled updates applied: the new states, the documents of grids the tablet may no
        longer read, and the cursor that covers both, together (the server reports a lost
        grid once: the next cursor no longer holds it)."""
        with self._transaction():
            for doc_id, state in states.items():
                self._put_state(doc_id, state)
            self._db.executemany("DELETE FROM docs WHERE id = ?", [(d,) for d in drop])
            if cursor is not None:
                self._set("cursor", cursor)

    def docs_in_outbox(self) -> set[str]:
        """Documents with updates not yet accepted by the server, refused ones included."""
        return {row[0] for row in self._db.execute("SELECT DISTINCT doc_id FROM outbox")}

    def unsent(self, max_bytes: int, max_count: int) -> list[Pending]:
        """The oldest outbox entries not refused, at least one if any, within the bounds."""
        found: list[Pending] = []
        size = 0
        rows = self._db.execute(
            "SELECT id, doc_id, data FROM outbox WHERE refused_reason IS NULL ORDER BY id"
        )
        for row_id, doc_id, data in rows:
            if found and (size + len(data) > max_bytes or len(found) >= max_count):
                break
            found.append(Pending(row_id, doc_id, bytes(data)))
            size += len(data)
        return found

    def unsent_count(self) -> int:
        row = self._db.execute("SELECT count(*) FROM outbox WHERE refused_reason IS NULL")
        count: int = row.fetchone()[0]
        return count

    def acknowledge(self, ids: Iterable[int]) -> None:
        with self._transaction():
            self._db.executemany("DELETE FROM outbox WHERE id = ?", [(i,) for i in ids])

    def refuse(self, entry_id: int, reason: str, detail: str) -> None:
        """Keep a refused update (nothing is ever thrown away) but stop sending it."""
        self._db.execute(
            "UPDATE outbox SET refused_reason = ?, refused_detail = ? WHERE id = ?",
            (reason, detail, entry_id),
        )

    def retry_refused(self, reason: str | None = None) -> int:
        """Send refused updates (of one reason, or all) again at the next sync."""
        changed = self._db.execute(
            "UPDATE outbox SET refused_reason = NULL, refused_detail = NULL "
            "WHERE refused_reason IS NOT NULL AND (? IS NULL OR refused_reason = ?)",
            (reason, reason),
        ).rowcount
        return int(changed)

    def replace_unsent(self, doc_id: str, whole_state: bytes) -> None:
        """Send the whole document instead of its separate updates (the server lacks some)."""
        with self._transaction():
            self._db.execute(
                "DELETE FROM outbox WHERE doc_id = ? AND refused_reason IS NULL", (doc_id,)
            )
            self._db.execute(
                "INSERT INTO outbox (doc_id, data) VALUES (?, ?)", (doc_id, whole_state)
            )

    def refusals(self) -> list[Refusal]:
        rows = self._db.execute(
            "SELECT doc_id, refused_reason, refused_detail FROM outbox "
            "WHERE refused_reason IS NOT NULL ORDER BY id"
        )
        return [Refusal(*row) for row in rows]

    def cursor(self) -> str | None:
        return self._get("cursor")

    def token(self) -> str | None:
        """The device token this store was enrolled with (or last rotated to)."""
        return self._get("token")

    def device_id(self) -> str | None:
        return self._get("device_id")

    def save_token(self, token: str, device_id: str | None = None) -> None:
        with self._transaction():
            self._set("token", token)
            if device_id is not None:
                self._set("device_id", device_id)

    def pending_token(self) -> str | None:
        """A token this tablet proposed in a rotation whose answer it has not seen."""
        return self._get("pending_token")

    def save_pending_token(self, token: str | None) -> None:
        with self._transaction():
            if token is None:
                self._db.execute("DELETE FROM settings WHERE key = 'pending_token'")
            else:
                self._set("pending_token", token)

    def _get(self, key: str) -> str | None:
        row = self._db.execute("SELECT value FROM settings WHERE key = ?", (key,)).fetchone()
        return None if row is None else str(row[0])

    def _put_state(self, doc_id: str, state: bytes) -> None:
        self._db.execute(
            "INSERT INTO docs (id, state) VALUES (?, ?) "
            "ON CONFLICT (id) DO UPDATE SET state = excluded.state",
            (doc_id, state),
        )

    def _set(self, key: str, value: str) -> None:
        self._db.execute(
            "INSERT INTO settings (key, value) VALUES (?, ?) "
            "ON CONFLICT (key) DO UPDATE SET value = excluded.value",
            (key, value),
        )

    def _transaction(self) -> "_Transaction":
        return _Transaction(self._db)


class _Transaction:
    def __init__(self, db: sqlite3.Connection) -> None:
        self._db = db

    def __enter__(self) -> None:
        self._db.execute("BEGIN IMMEDIATE")

    def __exit__(self, kind: object, error: object, trace: object) -> None:
        self._db.execute("ROLLBACK" if kind else "COMMIT")
