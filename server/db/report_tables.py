"""Overdue flags and daily report figures (issue 6): derived rows, rebuilt by the nightly
`overdue` and `report` jobs (docs/overdue-and-reports.md); tablets never see them."""

from sqlalchemy import (
    Column,
    Date,
    Double,
    Index,
    Integer,
    PrimaryKeyConstraint,
    String,
    Table,
)

from server.db.tables import UtcDateTime, metadata

# Not `doc_id`: the projector replaces every table with that column when a record changes
# (server/records/projection.py), and these flags must outlive that.
# One row per overdue thing: a record (item 0) or one of its needs (item = the need's
# position). A flag whose thing is no longer overdue keeps its row with `cleared_at` set;
# overdue again, it is flagged anew.
overdue_items = Table(
    "overdue_items",
    metadata,
    Column("record_id", String(36), nullable=False),
    Column("rule", String(64), nullable=False),
    Column("item", Integer, nullable=False),
    Column("kind", String(16), nullable=False),
    Column("grid", String(64), nullable=True),
    Column("due", Date, nullable=False),
    # As of the last run that found it overdue (Asia/Shanghai days after `due`).
    Column("days_overdue", Integer, nullable=False),
    Column("flagged_at", UtcDateTime, nullable=False),
    Column("cleared_at", UtcDateTime, nullable=True),
    PrimaryKeyConstraint("record_id", "rule", "item"),
    Index(None, "grid", "cleared_at"),
)

# One row per day, unit and figure: `SELECT … WHERE day = ? AND unit IN (…)`.
daily_reports = Table(
    "daily_reports",
    metadata,
    Column("day", Date, nullable=False),
    Column("unit", String(64), nullable=False),
    Column("level", String(16), nullable=False),
    Column("figure", String(64), nullable=False),
    Column("value", Double, nullable=False),
    PrimaryKeyConstraint("day", "unit", "figure"),
)
