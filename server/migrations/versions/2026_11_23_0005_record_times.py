"""Records: the time a visit counts for (`happened_at`), on visits and on their needs with
the visit's grid, indexed for the dashboard's periods; existing rows filled from their
current columns (what the projection writes from now on).

Plain columns, not expression indexes: autogenerate cannot compare those, and SQLite can
use no index for `coalesce(visited_at, created_at)`.

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-23 00:05:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0005"
down_revision: str | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

NEEDS_INDEXES = {
    "ix_visit_needs_grid_happened_at_category_status": [
        "grid",
        "happened_at",
        "category",
        "status",
    ],
    "ix_visit_needs_grid_deadline_status": ["grid", "deadline", "status"],
}


def _time(name: str) -> sa.Column[object]:
    return sa.Column(name, sa.DateTime(timezone=True), nullable=True)


def upgrade() -> None:
    with op.batch_alter_table("visits") as batch:
        batch.add_column(_time("happened_at"))
    with op.batch_alter_table("visit_needs") as batch:
        batch.add_column(sa.Column("grid", sa.String(64), nullable=True))
        batch.add_column(_time("happened_at"))
    op.execute("UPDATE visits SET happened_at = COALESCE(visited_at, created_at)")
    op.execute(
        "UPDATE visit_needs SET"
        " grid = (SELECT v.grid FROM visits v WHERE v.doc_id = visit_needs.doc_id),"
        " happened_at = (SELECT v.happened_at FROM visits v WHERE v.doc_id = visit_needs.doc_id)"
    )
    op.create_index("ix_visits_grid_happened_at", "visits", ["grid", "happened_at"])
    for name, columns in NEEDS_INDEXES.items():
        op.create_index(name, "visit_needs", columns)


def downgrade() -> None:
    for name in NEEDS_INDEXES:
        op.drop_index(name, table_name="visit_needs")
    op.drop_index("ix_visits_grid_happened_at", table_name="visits")
    with op.batch_alter_table("visit_needs") as batch:
        batch.drop_column("happened_at")
        batch.drop_column("grid")
    with op.batch_alter_table("visits") as batch:
        batch.drop_column("happened_at")
