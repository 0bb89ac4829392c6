"""Console: saved views, and the device of each field-history entry (issue 5).

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-23 00:04:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0004"
down_revision: str | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "saved_views",
        sa.Column("id", sa.String(36), nullable=False),
        sa.Column("account_id", sa.String(36), nullable=False),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("name", sa.String(100), nullable=False),
        sa.Column("query", sa.Text(), nullable=False),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            server_default=sa.func.now(),
            nullable=False,
        ),
        sa.ForeignKeyConstraint(
            ["account_id"], ["accounts.id"], name="fk_saved_views_account_id_accounts"
        ),
        sa.PrimaryKeyConstraint("id", name="pk_saved_views"),
        sa.UniqueConstraint(
            "account_id", "kind", "name", name="uq_saved_views_account_id_kind_name"
        ),
    )
    # Entries written before tablets named their device in them keep it null.
    with op.batch_alter_table("field_history") as batch:
        batch.add_column(sa.Column("device", sa.String(36), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("field_history") as batch:
        batch.drop_column("device")
    op.drop_table("saved_views")
