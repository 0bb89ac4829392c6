"""Console tables: saved views (issue 5).

A saved view is one account's named list filters: the kind and the list page's query
string, re-checked each time it is used (the records it shows are the account's grids as
they are then). Private: only its account lists, opens or deletes it.
"""

from sqlalchemy import Column, ForeignKey, String, Table, Text, UniqueConstraint, func

from server.db.tables import UtcDateTime, metadata

VIEW_NAME = 100
ACCOUNT_ID = 36  # as access_tables' (not imported: tables.py imports both, in turn)

saved_views = Table(
    "saved_views",
    metadata,
    Column("id", String(36), primary_key=True),
    Column("account_id", String(ACCOUNT_ID), ForeignKey("accounts.id"), nullable=False),
    Column("kind", String(16), nullable=False),
    Column("name", String(VIEW_NAME), nullable=False),
    Column("query", Text, nullable=False),
    Column("created_at", UtcDateTime, nullable=False, server_default=func.now()),
    # Saving under a name the account already uses for that list replaces the view.
    UniqueConstraint("account_id", "kind", "name"),
)
