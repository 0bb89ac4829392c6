"""The record projection: what `schemas.decode.decode` returns, as SQL tables.

Every table is keyed by `doc_id` and rebuilt from the documents (the update log is the
source of truth): a projector replaces a document's rows as a whole. The column names are
the keys of `Decoded.tables()`' rows; the string lengths are the limits `schemas.records`
enforces, so a decoded row always fits (docs/record-schemas.md).

No foreign keys: a document's rows are replaced in any order, and a document of unknown
kind still has notes, history and issues but no main row.
"""

from sqlalchemy import (
    JSON,
    Boolean,
    Column,
    Date,
    Double,
    Index,
    Integer,
    PrimaryKeyConstraint,
    String,
    Table,
    Text,
    text,
)

from server.db.tables import UtcDateTime, metadata

CODE = 32  # enumeration codes (`care_visit`, `property_management`, …)
ENTRY_ID = 64
AUTHOR = 100
DEVICE_ID = 36


def _doc_id() -> Column[str]:
    return Column("doc_id", String(36), nullable=False)


def _position() -> Column[int]:
    return Column("position", Integer, nullable=False)


def _main_table(name: str, *columns: Column[object] | Index) -> Table:
    """A kind's main table: one row per document, with what coordinators filter on.

    Partial indexes find the records needing attention (an open conflict, issues).
    """
    return Table(
        name,
        metadata,
        Column("doc_id", String(36), primary_key=True),
        Column("grid", String(64), nullable=True),
        Column("created_by", String(AUTHOR), nullable=True),
        Column("created_at", UtcDateTime, nullable=True),
        *columns,
        Column("issue_count", Integer, nullable=False),
        Column("has_conflict", Boolean, nullable=False),
        # What a coordinator decided (the server-written `review` root); null: not reviewed.
        Column("review_state", String(CODE), nullable=True),
        Index(None, "grid", "created_at"),
        Index(f"ix_{name}_grid_review_state", "grid", "review_state"),
        Index(
            f"ix_{name}_conflicted",
            "grid",
            postgresql_where=text("has_conflict"),
            sqlite_where=text("has_conflict"),
        ),
        Index(
            f"ix_{name}_with_issues",
            "grid",
            postgresql_where=text("issue_count > 0"),
            sqlite_where=text("issue_count > 0"),
        ),
    )


def _child_table(name: str, *columns: Column[object] | Index) -> Table:
    """Items of a record's list field, in document order."""
    return Table(
        name,
        metadata,
        _doc_id(),
        _position(),
        *columns,
        PrimaryKeyConstraint("doc_id", "position"),
    )


households = _main_table(
    "households",
    Column("compound", String(100)),
    Column("building", String(50)),
    Column("unit", String(50)),
    Column("room", String(50)),
    Column("head_name", String(100)),
    Column("phone", String(13)),
)

household_members = _child_table(
    "household_members",
    Column("name", String(100)),
    Column("relation", String(50)),
    Column("birth_year", Integer),
    # Sensitive (PIPL): readers mask it; only the projection writes it.
    Column("id_number", String(18)),
)

household_tags = _child_table(
    "household_tags",
    Column("tag", String(CODE)),
    Index(None, "tag"),
)

visits = _main_table(
    "visits",
    Column("household", String(36)),
    Column("visitor", String(100)),
    Column("visited_at", UtcDateTime),
    Column("gps_lat", Double),
    Column("gps_lon", Double),
    Column("purpose", String(CODE)),
    Column("findings", Text),
    Column("follow_up_due", Date),
    # The time the visit counts for (visited_at, else created_at): the dashboard's periods.
    Column("happened_at", UtcDateTime),
    Index(None, "grid", "visited_at"),
    Index(None, "grid", "happened_at"),
    Index(None, "grid", "purpose"),
    Index(None, "household"),
    Index(None, "follow_up_due"),
)

visit_needs = _child_table(
    "visit_needs",
    Column("category", String(CODE)),
    Column("text", Text),
    Column("status", String(CODE)),
    Column("deadline", Date),
    # The visit's grid and happened_at, so the dashboard counts needs without a join.
    Column("grid", String(64)),
    Column("happened_at", UtcDateTime),
    Index(None, "status", "deadline"),
    # Covering: a period's needs by category and status, and the overdue ones, per grid.
    Index(None, "grid", "happened_at", "category", "status"),
    Index(None, "grid", "deadline", "status"),
)

cases = _main_table(
    "cases",
    Column("title", String(200)),
    Column("type", String(CODE)),
    Column("place", String(200)),
    Column("occurred_at", UtcDateTime),
    Column("description", Text),
    Column("level", String(CODE)),
    Column("status", String(CODE)),
    Column("deadline", Date),
    Column("urgent", Boolean),
    Column("outcome", Text),
    Column("agreement", Text),
    Index(None, "grid", "status"),
    Index(None, "grid", "level"),
    Index(None, "grid", "type"),
    Index(None, "deadline"),
)

case_parties = _child_table(
    "case_parties",
    Column("name", String(100)),
    Column("role", String(CODE)),
    Column("contact", String(100)),
)

# Keyed by position: a tablet may write two notes with one id (an issue, not an error).
record_notes = Table(
    "record_notes",
    metadata,
    _doc_id(),
    _position(),
    Column("note_id", String(ENTRY_ID)),
    Column("by", String(AUTHOR)),
    Column("at", UtcDateTime),
    Column("kind", String(CODE)),
    Column("method", String(CODE)),
    Column("text", Text),
    # Every key of the entry not projected into a column (next_step, …), as written.
    Column("extra", JSON, nullable=False),
    PrimaryKeyConstraint("doc_id", "position"),
    Index(None, "note_id"),
)

field_history = Table(
    "field_history",
    metadata,
    _doc_id(),
    _position(),
    Column("entry_id", String(ENTRY_ID)),
    Column("field", String(64)),
    Column("value", JSON),
    Column("by", String(AUTHOR)),
    Column("at", UtcDateTime),
    Column("prev", JSON, nullable=False),
    # The device id the writing tablet put in the entry (`device`); null if it put none.
    Column("device", String(DEVICE_ID), nullable=True),
    PrimaryKeyConstraint("doc_id", "position"),
)

conflicts = Table(
    "conflicts",
    metadata,
    _doc_id(),
    Column("conflict_id", String(40), nullable=False),
    Column("field", String(64), nullable=False),
    Column("status", String(8), nullable=False),
    Column("entries", JSON, nullable=False),
    Column("current_value", JSON),
    Column("resolved_by", String(ENTRY_ID)),
    PrimaryKeyConstraint("doc_id", "conflict_id"),
    Index(None, "status"),
)

validation_issues = Table(
    "validation_issues",
    metadata,
    _doc_id(),
    _position(),
    Column("path", Text, nullable=False),
    Column("message", Text, nullable=False),
    PrimaryKeyConstraint("doc_id", "position"),
)
