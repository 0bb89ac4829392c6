"""Access: org tree, accounts, devices bound to accounts, enrollments, sessions, machine
tokens and the append-only audit log.

Devices made before accounts existed each become a grid member's account on their grid
(the grid becomes an org unit without a parent until an admin places it), so no tablet is
cut off by the upgrade.

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-23 00:03:00
"""

import uuid
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0003"
down_revision: str | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

UNIT, ACCOUNT, HASH = 64, 36, 64


def _time(name: str, nullable: bool = True) -> sa.Column[object]:
    return sa.Column(name, sa.DateTime(timezone=True), nullable=nullable)


def _created_at() -> sa.Column[object]:
    return sa.Column(
        "created_at", sa.DateTime(timezone=True), server_default=sa.func.now(), nullable=False
    )


def upgrade() -> None:
    _create_tables()
    _bind_devices_to_accounts()
    _make_audit_append_only()


def _create_tables() -> None:
    op.create_table(
        "org_units",
        sa.Column("code", sa.String(UNIT), nullable=False),
        sa.Column("name", sa.String(100), nullable=False),
        sa.Column("level", sa.String(16), nullable=False),
        sa.Column("parent", sa.String(UNIT), nullable=True),
        _created_at(),
        sa.ForeignKeyConstraint(
            ["parent"], ["org_units.code"], name="fk_org_units_parent_org_units"
        ),
        sa.PrimaryKeyConstraint("code", name="pk_org_units"),
    )
    op.create_index("ix_org_units_parent", "org_units", ["parent"])
    op.create_table(
        "accounts",
        sa.Column("id", sa.String(ACCOUNT), nullable=False),
        sa.Column("username", sa.String(64), nullable=False),
        sa.Column("display_name", sa.String(100), nullable=False),
        sa.Column("role", sa.String(32), nullable=False),
        sa.Column("password_hash", sa.String(200), nullable=True),
        _created_at(),
        _time("disabled_at"),
        sa.PrimaryKeyConstraint("id", name="pk_accounts"),
        sa.UniqueConstraint("username", name="uq_accounts_username"),
    )
    op.create_table(
        "account_units",
        sa.Column("account_id", sa.String(ACCOUNT), nullable=False),
        sa.Column("unit", sa.String(UNIT), nullable=False),
        sa.ForeignKeyConstraint(
            ["account_id"], ["accounts.id"], name="fk_account_units_account_id_accounts"
        ),
        sa.ForeignKeyConstraint(
            ["unit"], ["org_units.code"], name="fk_account_units_unit_org_units"
        ),
        sa.PrimaryKeyConstraint("account_id", "unit", name="pk_account_units"),
    )
    op.create_index("ix_account_units_unit", "account_units", ["unit"])
    op.create_table(
        "enrollments",
        sa.Column("code_hash", sa.String(HASH), nullable=False),
        sa.Column("account_id", sa.String(ACCOUNT), nullable=False),
        sa.Column("device_name", sa.String(100), nullable=False),
        sa.Column("created_by", sa.String(ACCOUNT), nullable=True),
        _created_at(),
        _time("expires_at", nullable=False),
        _time("used_at"),
        sa.Column("device_id", sa.String(36), nullable=True),
        sa.ForeignKeyConstraint(
            ["account_id"], ["accounts.id"], name="fk_enrollments_account_id_accounts"
        ),
        sa.PrimaryKeyConstraint("code_hash", name="pk_enrollments"),
    )
    op.create_table(
        "sessions",
        sa.Column("id_hash", sa.String(HASH), nullable=False),
        sa.Column("account_id", sa.String(ACCOUNT), nullable=False),
        _created_at(),
        _time("expires_at", nullable=False),
        _time("last_seen_at", nullable=False),
        sa.Column("ip", sa.String(64), nullable=True),
        _time("revoked_at"),
        sa.ForeignKeyConstraint(
            ["account_id"], ["accounts.id"], name="fk_sessions_account_id_accounts"
        ),
        sa.PrimaryKeyConstraint("id_hash", name="pk_sessions"),
    )
    op.create_index("ix_sessions_account_id", "sessions", ["account_id"])
    op.create_table(
        "machine_tokens",
        sa.Column("id", sa.String(36), nullable=False),
        sa.Column("name", sa.String(100), nullable=False),
        sa.Column("token_hash", sa.String(HASH), nullable=False),
        sa.Column("created_by", sa.String(ACCOUNT), nullable=True),
        _created_at(),
        _time("revoked_at"),
        _time("last_used_at"),
        sa.PrimaryKeyConstraint("id", name="pk_machine_tokens"),
        sa.UniqueConstraint("token_hash", name="uq_machine_tokens_token_hash"),
    )
    op.create_table(
        "machine_token_units",
        sa.Column("token_id", sa.String(36), nullable=False),
        sa.Column("unit", sa.String(UNIT), nullable=False),
        sa.ForeignKeyConstraint(
            ["token_id"],
            ["machine_tokens.id"],
            name="fk_machine_token_units_token_id_machine_tokens",
        ),
        sa.ForeignKeyConstraint(
            ["unit"], ["org_units.code"], name="fk_machine_token_units_unit_org_units"
        ),
        sa.PrimaryKeyConstraint("token_id", "unit", name="pk_machine_token_units"),
    )
    op.create_table(
        "audit_log",
        sa.Column(
            "id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            autoincrement=True,
            nullable=False,
        ),
        _time("at", nullable=False),
        sa.Column("action", sa.String(64), nullable=False),
        sa.Column("outcome", sa.String(16), nullable=False),
        sa.Column("account_id", sa.String(ACCOUNT), nullable=True),
        sa.Column("username", sa.String(64), nullable=True),
        sa.Column("device_id", sa.String(36), nullable=True),
        sa.Column("token_id", sa.String(36), nullable=True),
        sa.Column("ip", sa.String(64), nullable=True),
        sa.Column("target_kind", sa.String(32), nullable=True),
        sa.Column("target", sa.String(100), nullable=True),
        sa.Column("detail", sa.JSON(), nullable=True),
        sa.PrimaryKeyConstraint("id", name="pk_audit_log"),
    )
    op.create_index("ix_audit_log_action_target_at", "audit_log", ["action", "target", "at"])
    op.create_index("ix_audit_log_action_ip_at", "audit_log", ["action", "ip", "at"])
    op.create_index("ix_audit_log_account_id_at", "audit_log", ["account_id", "at"])


def _bind_devices_to_accounts() -> None:
    with op.batch_alter_table("devices") as batch:
        batch.add_column(sa.Column("account_id", sa.String(ACCOUNT), nullable=True))
        batch.add_column(_time("rotated_at"))
        batch.add_column(_time("last_sync_at"))
        batch.add_column(sa.Column("app_version", sa.String(64), nullable=True))
    connection = op.get_bind()
    devices = sa.table(
        "devices", sa.column("id"), sa.column("name"), sa.column("grid"), sa.column("account_id")
    )
    units = sa.table("org_units", sa.column("code"), sa.column("name"), sa.column("level"))
    accounts = sa.table(
        "accounts",
        sa.column("id"),
        sa.column("username"),
        sa.column("display_name"),
        sa.column("role"),
    )
    account_units = sa.table("account_units", sa.column("account_id"), sa.column("unit"))
    old = connection.execute(sa.select(devices.c.id, devices.c.name, devices.c.grid)).all()
    for grid in sorted({row.grid for row in old}):
        connection.execute(units.insert().values(code=grid, name=grid, level="grid"))
    for row in old:
        account_id = str(uuid.uuid4())
        connection.execute(
            accounts.insert().values(
                id=account_id,
                username=f"device-{row.id}",
                display_name=row.name,
                role="grid_member",
            )
        )
        connection.execute(account_units.insert().values(account_id=account_id, unit=row.grid))
        connection.execute(
            devices.update().where(devices.c.id == row.id).values(account_id=account_id)
        )
    with op.batch_alter_table("devices") as batch:
        batch.alter_column("account_id", existing_type=sa.String(ACCOUNT), nullable=False)
        batch.create_foreign_key(
            "fk_devices_account_id_accounts", "accounts", ["account_id"], ["id"]
        )
        batch.create_index("ix_devices_account_id", ["account_id"])
        batch.drop_column("grid")


def _make_audit_append_only() -> None:
    if op.get_bind().dialect.name == "sqlite":
        for verb in ("UPDATE", "DELETE"):
            op.execute(
                f"CREATE TRIGGER audit_log_no_{verb.lower()} BEFORE {verb} ON audit_log "
                "BEGIN SELECT RAISE(ABORT, 'the audit log is append-only'); END"
            )
        return
    op.execute(
        "CREATE FUNCTION audit_log_append_only() RETURNS trigger LANGUAGE plpgsql AS "
        "$$ BEGIN RAISE EXCEPTION 'the audit log is append-only'; END $$"
    )
    op.execute(
        "CREATE TRIGGER audit_log_append_only BEFORE UPDATE OR DELETE OR TRUNCATE ON audit_log "
        "FOR EACH STATEMENT EXECUTE FUNCTION audit_log_append_only()"
    )


def downgrade() -> None:
    """Back to devices with a grid each (an account's first unit); accounts and the rest go."""
    if op.get_bind().dialect.name == "sqlite":
        op.execute("DROP TRIGGER audit_log_no_update")
        op.execute("DROP TRIGGER audit_log_no_delete")
    else:
        op.execute("DROP TRIGGER audit_log_append_only ON audit_log")
        op.execute("DROP FUNCTION audit_log_append_only()")
    with op.batch_alter_table("devices") as batch:
        batch.add_column(sa.Column("grid", sa.String(64), nullable=True))
    op.execute(
        "UPDATE devices SET grid = (SELECT MIN(unit) FROM account_units "
        "WHERE account_units.account_id = devices.account_id)"
    )
    op.execute("UPDATE devices SET grid = '' WHERE grid IS NULL")
    with op.batch_alter_table("devices") as batch:
        batch.alter_column("grid", existing_type=sa.String(64), nullable=False)
        batch.drop_index("ix_devices_account_id")
        batch.drop_constraint("fk_devices_account_id_accounts", type_="foreignkey")
        for column in ("account_id", "rotated_at", "last_sync_at", "app_version"):
            batch.drop_column(column)
    for table in (
        "audit_log",
        "machine_token_units",
        "machine_tokens",
        "sessions",
        "enrollments",
        "account_units",
        "accounts",
        "org_units",
    ):
        op.drop_table(table)
