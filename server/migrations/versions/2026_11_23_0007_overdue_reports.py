"""Overdue flags and daily reports (issue 6).

Revision ID: 0007
Revises: 0006
Create Date: 2026-11-23 00:07:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0007"
down_revision: str | None = "0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "overdue_items",
        sa.Column("record_id", sa.String(36), nullable=False),
        sa.Column("rule", sa.String(64), nullable=False),
        sa.Column("item", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("grid", sa.String(64), nullable=True),
        sa.Column("due", sa.Date(), nullable=False),
        sa.Column("days_overdue", sa.Integer(), nullable=False),
        sa.Column("flagged_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("cleared_at", sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("record_id", "rule", "item", name="pk_overdue_items"),
    )
    op.create_index("ix_overdue_items_grid_cleared_at", "overdue_items", ["grid", "cleared_at"])
    op.create_table(
        "daily_reports",
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("unit", sa.String(64), nullable=False),
        sa.Column("level", sa.String(16), nullable=False),
        sa.Column("figure", sa.String(64), nullable=False),
        sa.Column("value", sa.Double(), nullable=False),
        sa.PrimaryKeyConstraint("day", "unit", "figure", name="pk_daily_reports"),
    )


def downgrade() -> None:
    op.drop_table("daily_reports")
    op.drop_index("ix_overdue_items_grid_cleared_at", table_name="overdue_items")
    op.drop_table("overdue_items")
