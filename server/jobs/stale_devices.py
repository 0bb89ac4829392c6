"""List devices that have not synced for N days."""

from collections import Counter
from datetime import timedelta

import sqlalchemy as sa

from server.access.org import grids_under_units
from server.db.access_tables import account_units, accounts, devices
from server.jobs.base import Figures, JobContext


class StaleDevicesJob:
    name = "stale_devices"
    description = "List devices that have not synced for N days."

    async def run(self, context: JobContext) -> Figures:
        """Devices not revoked whose last sync (never: their enrollment) is older than
        `stale_device_days` before the run's clock. Reads only: running it twice is
        harmless."""
        days = context.settings.nightly.stale_device_days
        cutoff = context.now - timedelta(days=days)
        last = sa.func.coalesce(devices.c.last_sync_at, devices.c.created_at)
        query = (
            sa.select(
                devices.c.id,
                devices.c.name,
                devices.c.account_id,
                accounts.c.username,
                devices.c.last_sync_at,
            )
            .join(accounts, accounts.c.id == devices.c.account_id)
            .where(
                devices.c.revoked_at.is_(None),
                devices.c.created_at <= context.now,
                last < cutoff,
            )
            .order_by(devices.c.last_sync_at.nulls_first(), devices.c.id)
        )
        async with context.database.connect() as connection:
            rows = (await connection.execute(query)).all()
            grids_of: dict[str, list[str]] = {}
            for account_id in sorted({row.account_id for row in rows}):
                units = await connection.execute(
                    sa.select(account_units.c.unit).where(account_units.c.account_id == account_id)
                )
                grids_of[account_id] = sorted(await grids_under_units(connection, units.scalars()))
        per_grid: Counter[str] = Counter()
        found = []
        for done, row in enumerate(rows, 1):
            grids = grids_of[row.account_id]
            per_grid.update(grids)
            found.append(
                {
                    "id": row.id,
                    "name": row.name,
                    "account": row.username,
                    "grids": grids,
                    "last_sync_at": row.last_sync_at.isoformat() if row.last_sync_at else None,
                }
            )
            context.progress.update(done, len(rows))
        return {
            "days": days,
            "cutoff": cutoff.isoformat(),
            "stale": len(found),
            "per_grid": dict(sorted(per_grid.items())),
            "devices": found,
        }


JOB = StaleDevicesJob()
