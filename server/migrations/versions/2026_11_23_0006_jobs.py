"""Nightly jobs: run records and the job lock (issue 6).

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-23 00:06:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0006"
down_revision: str | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

JOB, HOLDER = 64, 200


def _time(name: str, nullable: bool = True) -> sa.Column[object]:
    return sa.Column(name, sa.DateTime(timezone=True), nullable=nullable)


def upgrade() -> None:
    op.create_table(
        "job_runs",
        sa.Column(
            "id",
            sa.BigInteger().with_variant(sa.Integer, "sqlite"),
            autoincrement=True,
            nullable=False,
        ),
        sa.Column("job", sa.String(JOB), nullable=False),
        sa.Column("trigger", sa.String(16), nullable=False),
        sa.Column("slot", sa.String(32), nullable=True),
        _time("started_at", nullable=False),
        _time("finished_at"),
        sa.Column("outcome", sa.String(16), nullable=False),
        sa.Column("figures", sa.JSON, nullable=True),
        sa.Column("error", sa.Text, nullable=True),
        sa.Column("process", sa.String(HOLDER), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_job_runs"),
    )
    op.create_index("ix_job_runs_job_id", "job_runs", ["job", "id"])
    op.create_index("ix_job_runs_job_slot", "job_runs", ["job", "slot"])
    op.create_table(
        "job_locks",
        sa.Column("job", sa.String(JOB), nullable=False),
        sa.Column("holder", sa.String(HOLDER), nullable=True),
        sa.Column("run_id", sa.BigInteger, nullable=True),
        _time("acquired_at"),
        _time("expires_at"),
        sa.PrimaryKeyConstraint("job", name="pk_job_locks"),
    )


def downgrade() -> None:
    op.drop_table("job_locks")
    op.drop_index("ix_job_runs_job_slot", table_name="job_runs")
    op.drop_index("ix_job_runs_job_id", table_name="job_runs")
    op.drop_table("job_runs")
