"""The record projection: households, visits, cases, their items, notes, field history,
conflicts and validation issues; and `documents.projected_seq`.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-23 00:02:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0002"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

CODE = 32


def _time(name: str) -> sa.Column[object]:
    return sa.Column(name, sa.DateTime(timezone=True), nullable=True)


def _main_table(name: str, *columns: sa.Column[object]) -> None:
    op.create_table(
        name,
        sa.Column("doc_id", sa.String(36), nullable=False),
        sa.Column("grid", sa.String(64), nullable=True),
        sa.Column("created_by", sa.String(100), nullable=True),
        _time("created_at"),
        *columns,
        sa.Column("issue_count", sa.Integer(), nullable=False),
        sa.Column("has_conflict", sa.Boolean(), nullable=False),
        sa.Column("review_state", sa.String(32), nullable=True),
        sa.PrimaryKeyConstraint("doc_id", name=f"pk_{name}"),
    )
    op.create_index(f"ix_{name}_grid_created_at", name, ["grid", "created_at"])
    op.create_index(f"ix_{name}_grid_review_state", name, ["grid", "review_state"])
    where = sa.text("has_conflict")
    op.create_index(
        f"ix_{name}_conflicted", name, ["grid"], postgresql_where=where, sqlite_where=where
    )
    where = sa.text("issue_count > 0")
    op.create_index(
        f"ix_{name}_with_issues", name, ["grid"], postgresql_where=where, sqlite_where=where
    )


def _keyed_table(name: str, *columns: sa.Column[object]) -> None:
    """A table of a document's rows in order: primary key (doc_id, position)."""
    op.create_table(
        name,
        sa.Column("doc_id", sa.String(36), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        *columns,
        sa.PrimaryKeyConstraint("doc_id", "position", name=f"pk_{name}"),
    )


def upgrade() -> None:
    with op.batch_alter_table("documents") as batch:
        batch.add_column(
            sa.Column("projected_seq", sa.BigInteger(), nullable=False, server_default="0")
        )
    where = sa.text("head_seq > projected_seq")
    op.create_index(
        "ix_documents_unprojected",
        "documents",
        ["head_seq"],
        postgresql_where=where,
        sqlite_where=where,
    )

    _main_table(
        "households",
        sa.Column("compound", sa.String(100)),
        sa.Column("building", sa.String(50)),
        sa.Column("unit", sa.String(50)),
        sa.Column("room", sa.String(50)),
        sa.Column("head_name", sa.String(100)),
        sa.Column("phone", sa.String(13)),
    )
    _keyed_table(
        "household_members",
        sa.Column("name", sa.String(100)),
        sa.Column("relation", sa.String(50)),
        sa.Column("birth_year", sa.Integer()),
        sa.Column("id_number", sa.String(18)),
    )
    _keyed_table("household_tags", sa.Column("tag", sa.String(CODE)))
    op.create_index("ix_household_tags_tag", "household_tags", ["tag"])

    _main_table(
        "visits",
        sa.Column("household", sa.String(36)),
        sa.Column("visitor", sa.String(100)),
        _time("visited_at"),
        sa.Column("gps_lat", sa.Double()),
        sa.Column("gps_lon", sa.Double()),
        sa.Column("purpose", sa.String(CODE)),
        sa.Column("findings", sa.Text()),
        sa.Column("follow_up_due", sa.Date()),
    )
    op.create_index("ix_visits_grid_visited_at", "visits", ["grid", "visited_at"])
    op.create_index("ix_visits_grid_purpose", "visits", ["grid", "purpose"])
    op.create_index("ix_visits_household", "visits", ["household"])
    op.create_index("ix_visits_follow_up_due", "visits", ["follow_up_due"])
    _keyed_table(
        "visit_needs",
        sa.Column("category", sa.String(CODE)),
        sa.Column("text", sa.Text()),
        sa.Column("status", sa.String(CODE)),
        sa.Column("deadline", sa.Date()),
    )
    op.create_index("ix_visit_needs_status_deadline", "visit_needs", ["status", "deadline"])

    _main_table(
        "cases",
        sa.Column("title", sa.String(200)),
        sa.Column("type", sa.String(CODE)),
        sa.Column("place", sa.String(200)),
        _time("occurred_at"),
        sa.Column("description", sa.Text()),
        sa.Column("level", sa.String(CODE)),
        sa.Column("status", sa.String(CODE)),
        sa.Column("deadline", sa.Date()),
        sa.Column("urgent", sa.Boolean()),
        sa.Column("outcome", sa.Text()),
        sa.Column("agreement", sa.Text()),
    )
    op.create_index("ix_cases_grid_status", "cases", ["grid", "status"])
    op.create_index("ix_cases_grid_level", "cases", ["grid", "level"])
    op.create_index("ix_cases_grid_type", "cases", ["grid", "type"])
    op.create_index("ix_cases_deadline", "cases", ["deadline"])
    _keyed_table(
        "case_parties",
        sa.Column("name", sa.String(100)),
        sa.Column("role", sa.String(CODE)),
        sa.Column("contact", sa.String(100)),
    )

    _keyed_table(
        "record_notes",
        sa.Column("note_id", sa.String(64)),
        sa.Column("by", sa.String(100)),
        _time("at"),
        sa.Column("kind", sa.String(CODE)),
        sa.Column("method", sa.String(CODE)),
        sa.Column("text", sa.Text()),
        sa.Column("extra", sa.JSON(), nullable=False),
    )
    op.create_index("ix_record_notes_note_id", "record_notes", ["note_id"])
    _keyed_table(
        "field_history",
        sa.Column("entry_id", sa.String(64)),
        sa.Column("field", sa.String(64)),
        sa.Column("value", sa.JSON()),
        sa.Column("by", sa.String(100)),
        _time("at"),
        sa.Column("prev", sa.JSON(), nullable=False),
    )
    op.create_table(
        "conflicts",
        sa.Column("doc_id", sa.String(36), nullable=False),
        sa.Column("conflict_id", sa.String(40), nullable=False),
        sa.Column("field", sa.String(64), nullable=False),
        sa.Column("status", sa.String(8), nullable=False),
        sa.Column("entries", sa.JSON(), nullable=False),
        sa.Column("current_value", sa.JSON()),
        sa.Column("resolved_by", sa.String(64)),
        sa.PrimaryKeyConstraint("doc_id", "conflict_id", name="pk_conflicts"),
    )
    op.create_index("ix_conflicts_status", "conflicts", ["status"])
    _keyed_table(
        "validation_issues",
        sa.Column("path", sa.Text(), nullable=False),
        sa.Column("message", sa.Text(), nullable=False),
    )


def downgrade() -> None:
    for table in (
        "validation_issues",
        "conflicts",
        "field_history",
        "record_notes",
        "case_parties",
        "cases",
        "visit_needs",
        "visits",
        "household_tags",
        "household_members",
        "households",
    ):
        op.drop_table(table)
    op.drop_index("ix_documents_unprojected", table_name="documents")
    with op.batch_alter_table("documents") as batch:
        batch.drop_column("projected_seq")
