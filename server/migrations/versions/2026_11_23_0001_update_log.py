"""The update log: sequence counter, documents, updates, devices.

Revision ID: 0001
Revises:
Create Date: 2026-11-23 00:01:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0001"
down_revision: str | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def _created_at() -> sa.Column[object]:
    return sa.Column(
        "created_at", sa.DateTime(timezone=True), nullable=False, server_default=sa.func.now()
    )


def upgrade() -> None:
    counter = op.create_table(
        "seq_counter",
        sa.Column("id", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("value", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_seq_counter"),
    )
    op.bulk_insert(counter, [{"id": 1, "value": 0}])
    op.create_table(
        "documents",
        sa.Column("id", sa.String(36), nullable=False),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("grid", sa.String(64), nullable=False),
        sa.Column("created_by", sa.String(36), nullable=True),
        _created_at(),
        sa.Column(
            "updated_at", sa.DateTime(timezone=True), nullable=False, server_default=sa.func.now()
        ),
        sa.Column("head_seq", sa.BigInteger(), nullable=False),
        sa.Column("update_count", sa.Integer(), nullable=False),
        sa.Column("byte_size", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_documents"),
    )
    op.create_index("ix_documents_grid", "documents", ["grid"])
    op.create_table(
        "updates",
        # INTEGER on SQLite makes seq the rowid (see server/db/tables.py).
        sa.Column(
            "seq",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            autoincrement=False,
            nullable=False,
        ),
        sa.Column("doc_id", sa.String(36), nullable=False),
        sa.Column("grid", sa.String(64), nullable=False),
        sa.Column("device", sa.String(36), nullable=True),
        sa.Column("data", sa.LargeBinary(), nullable=False),
        sa.Column("is_snapshot", sa.Boolean(), nullable=False, server_default=sa.false()),
        _created_at(),
        sa.PrimaryKeyConstraint("seq", name="pk_updates"),
    )
    op.create_index("ix_updates_grid_seq", "updates", ["grid", "seq"])
    op.create_index("ix_updates_doc_id_seq", "updates", ["doc_id", "seq"])
    op.create_table(
        "devices",
        sa.Column("id", sa.String(36), nullable=False),
        sa.Column("name", sa.String(100), nullable=False),
        sa.Column("grid", sa.String(64), nullable=False),
        sa.Column("token_hash", sa.String(64), nullable=False),
        _created_at(),
        sa.Column("revoked_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("last_seen_at", sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("id", name="pk_devices"),
        sa.UniqueConstraint("token_hash", name="uq_devices_token_hash"),
    )


def downgrade() -> None:
    op.drop_table("devices")
    op.drop_table("updates")
    op.drop_table("documents")
    op.drop_table("seq_counter")
