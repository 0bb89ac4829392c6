"""Who may see and change what: the org tree, accounts, devices, tokens, sessions, audit.

Secrets are never stored: tokens, session ids and enrollment codes as SHA-256 hashes (they
carry enough random bits), passwords as argon2 hashes (server/access/secrets.py).
"""

from sqlalchemy import (
    JSON,
    BigInteger,
    Column,
    ForeignKey,
    Index,
    Integer,
    PrimaryKeyConstraint,
    String,
    Table,
    func,
)

from server.db.tables import UtcDateTime, metadata

UNIT = 64  # org unit codes; a grid's code is the `grid` of its documents
ACCOUNT_ID = 36
HASH = 64  # hex SHA-256


def _created_at() -> Column[object]:
    return Column("created_at", UtcDateTime, nullable=False, server_default=func.now())


# street → community → grid. A unit's code never changes (documents carry grid codes);
# moving a unit changes its parent.
org_units = Table(
    "org_units",
    metadata,
    Column("code", String(UNIT), primary_key=True),
    Column("name", String(100), nullable=False),
    Column("level", String(16), nullable=False),
    Column("parent", String(UNIT), ForeignKey("org_units.code"), nullable=True, index=True),
    _created_at(),
)

accounts = Table(
    "accounts",
    metadata,
    Column("id", String(ACCOUNT_ID), primary_key=True),
    Column("username", String(64), nullable=False, unique=True),
    Column("display_name", String(100), nullable=False),
    Column("role", String(32), nullable=False),
    # argon2id; null for an account that only syncs through its devices.
    Column("password_hash", String(200), nullable=True),
    _created_at(),
    Column("disabled_at", UtcDateTime, nullable=True),
)

# The units an account serves; its scope is every grid at or below them.
account_units = Table(
    "account_units",
    metadata,
    Column("account_id", String(ACCOUNT_ID), ForeignKey("accounts.id"), nullable=False),
    Column("unit", String(UNIT), ForeignKey("org_units.code"), nullable=False, index=True),
    PrimaryKeyConstraint("account_id", "unit"),
)

devices = Table(
    "devices",
    metadata,
    Column("id", String(36), primary_key=True),
    Column("name", String(100), nullable=False),
    Column("account_id", String(ACCOUNT_ID), ForeignKey("accounts.id"), nullable=False),
    Column("token_hash", String(HASH), nullable=False, unique=True),
    _created_at(),
    Column("revoked_at", UtcDateTime, nullable=True),
    Column("rotated_at", UtcDateTime, nullable=True),
    Column("last_seen_at", UtcDateTime, nullable=True),
    Column("last_sync_at", UtcDateTime, nullable=True),
    Column("app_version", String(64), nullable=True),
    Index(None, "account_id"),
)

# One-time codes a tablet redeems for a device token of `account_id`.
enrollments = Table(
    "enrollments",
    metadata,
    Column("code_hash", String(HASH), primary_key=True),
    Column("account_id", String(ACCOUNT_ID), ForeignKey("accounts.id"), nullable=False),
    Column("device_name", String(100), nullable=False),
    Column("created_by", String(ACCOUNT_ID), nullable=True),
    _created_at(),
    Column("expires_at", UtcDateTime, nullable=False),
    Column("used_at", UtcDateTime, nullable=True),
    Column("device_id", String(36), nullable=True),
)

# Browser sessions; the cookie holds the secret, the table its hash.
sessions = Table(
    "sessions",
    metadata,
    Column("id_hash", String(HASH), primary_key=True),
    Column("account_id", String(ACCOUNT_ID), ForeignKey("accounts.id"), nullable=False),
    _created_at(),
    Column("expires_at", UtcDateTime, nullable=False),
    Column("last_seen_at", UtcDateTime, nullable=False),
    Column("ip", String(64), nullable=True),
    Column("revoked_at", UtcDateTime, nullable=True),
    Index(None, "account_id"),
)

# Read-only tokens for machines (nightly jobs, downstream systems), scoped like accounts.
machine_tokens = Table(
    "machine_tokens",
    metadata,
    Column("id", String(36), primary_key=True),
    Column("name", String(100), nullable=False),
    Column("token_hash", String(HASH), nullable=False, unique=True),
    Column("created_by", String(ACCOUNT_ID), nullable=True),
    _created_at(),
    Column("revoked_at", UtcDateTime, nullable=True),
    Column("last_used_at", UtcDateTime, nullable=True),
)

machine_token_units = Table(
    "machine_token_units",
    metadata,
    Column("token_id", String(36), ForeignKey("machine_tokens.id"), nullable=False),
    Column("unit", String(UNIT), ForeignKey("org_units.code"), nullable=False),
    PrimaryKeyConstraint("token_id", "unit"),
)

# Append-only (triggers refuse UPDATE and DELETE): who did what, to what, when, from where.
audit_log = Table(
    "audit_log",
    metadata,
    Column(
        "id",
        BigInteger().with_variant(Integer, "sqlite"),
        primary_key=True,
        autoincrement=True,
    ),
    Column("at", UtcDateTime, nullable=False),
    Column("action", String(64), nullable=False),
    Column("outcome", String(16), nullable=False),
    Column("account_id", String(ACCOUNT_ID), nullable=True),
    Column("username", String(64), nullable=True),
    Column("device_id", String(36), nullable=True),
    Column("token_id", String(36), nullable=True),
    Column("ip", String(64), nullable=True),
    Column("target_kind", String(32), nullable=True),
    Column("target", String(100), nullable=True),
    Column("detail", JSON, nullable=True),
    # Login throttling counts recent failures by username and by address.
    Index(None, "action", "target", "at"),
    Index(None, "action", "ip", "at"),
    Index(None, "account_id", "at"),
)
