"""Migration 0005 fills `happened_at` for visits projected before it, and their needs' grid
and time, so the dashboard counts old records like new ones; its downgrade undoes it."""

from datetime import UTC, datetime

import sqlalchemy as sa
from alembic import command

from server.db.engine import make_engine
from server.db.migrate import make_config
from server.db.record_tables import visit_needs, visits
from server.db.tables import UtcDateTime

from .test_migrations import _alembic

MADE = datetime(2026, 11, 1, 2, 0, tzinfo=UTC)
CREATED = datetime(2026, 11, 3, 4, 0, tzinfo=UTC)
# Lightweight tables: the columns as they were at 0004.
OLD_VISITS = sa.table(
    "visits",
    *(sa.column(name) for name in ("doc_id", "grid", "issue_count", "has_conflict")),
    sa.column("created_at", UtcDateTime),
    sa.column("visited_at", UtcDateTime),
)
FLAGS = {"created_at": CREATED, "issue_count": 0, "has_conflict": False}
OLD_NEEDS = sa.table("visit_needs", *(sa.column(n) for n in ("doc_id", "position", "category")))


async def test_old_visits_and_needs_get_their_time_and_grid(database_url: str) -> None:
    config = make_config(database_url)
    await _alembic(database_url, lambda: command.downgrade(config, "0004"), config)
    engine = make_engine(database_url)
    try:
        async with engine.begin() as connection:
            await connection.execute(
                OLD_VISITS.insert(),
                [
                    {"doc_id": "made", "grid": "G1", "visited_at": MADE} | FLAGS,
                    {"doc_id": "draft", "grid": "G2", "visited_at": None} | FLAGS,
                ],
            )
            await connection.execute(
                OLD_NEEDS.insert(), [{"doc_id": "made", "position": 0, "category": "repair"}]
            )
        await _alembic(database_url, lambda: command.upgrade(config, "head"), config)
        async with engine.connect() as connection:
            found = await connection.execute(
                sa.select(visits.c.doc_id, visits.c.happened_at).order_by(visits.c.doc_id)
            )
            assert found.all() == [("draft", CREATED), ("made", MADE)]
            needs = await connection.execute(
                sa.select(visit_needs.c.grid, visit_needs.c.happened_at)
            )
            assert needs.all() == [("G1", MADE)]
        await _alembic(database_url, lambda: command.downgrade(config, "0004"), config)
        async with engine.connect() as connection:
            columns = await connection.run_sync(
                lambda sync: [c["name"] for c in sa.inspect(sync).get_columns("visit_needs")]
            )
            assert "happened_at" not in columns and "grid" not in columns
    finally:
        await engine.dispose()
