"""Change feed and webhook tables (issue 6, docs/change-feed.md)."""

from sqlalchemy import (
    JSON,
    BigInteger,
    Column,
    ForeignKey,
    Index,
    Integer,
    String,
    Table,
    Text,
    UniqueConstraint,
)

from server.db.tables import UtcDateTime, documents, metadata

# The change feed walks documents in `head_seq` order; the projector's partial index only
# holds documents behind, so the feed needs its own.
Index("ix_documents_head_seq", documents.c.head_seq)

URL = 2000
EVENT_ID = 120

webhooks = Table(
    "webhooks",
    metadata,
    Column("id", String(36), primary_key=True),
    Column("url", String(URL), nullable=False),
    # The event kinds it wants: record.changed, record.reviewed.
    Column("events", JSON, nullable=False),
    # In clear: signing needs the secret itself, a hash could only check one.
    Column("secret", String(100), nullable=False),
    Column("created_by", String(36), nullable=True),
    Column("created_at", UtcDateTime, nullable=False),
    # The change feed's cursor: every document change up to this head_seq is enqueued.
    Column("feed_seq", BigInteger, nullable=False),
)

# One row per event per webhook; the body is fixed when enqueued, so every retry sends the
# same bytes under the same delivery id.
webhook_deliveries = Table(
    "webhook_deliveries",
    metadata,
    Column("id", String(36), primary_key=True),
    Column("webhook_id", String(36), ForeignKey("webhooks.id"), nullable=False),
    # What makes an event unique for its webhook: record:<doc>:<seq>, review:<note id>.
    Column("event_id", String(EVENT_ID), nullable=False),
    Column("event", String(32), nullable=False),
    # Where it comes in the feed (the change's head_seq × 1000 + its rank among the change's
    # events): deliveries due together go out in this order.
    Column("position", BigInteger, nullable=False),
    Column("body", Text, nullable=False),
    # pending | delivered | parked
    Column("status", String(16), nullable=False),
    Column("attempts", Integer, nullable=False),
    Column("next_attempt_at", UtcDateTime, nullable=False),
    # A sender claims a delivery until then; a killed sender's claim lapses.
    Column("lease_until", UtcDateTime, nullable=True),
    Column("last_status", Integer, nullable=True),
    Column("last_error", String(500), nullable=True),
    Column("created_at", UtcDateTime, nullable=False),
    Column("delivered_at", UtcDateTime, nullable=True),
    UniqueConstraint("webhook_id", "event_id"),
    # Due deliveries: pending ones are few, however many were delivered.
    Index(None, "status", "next_attempt_at"),
)
