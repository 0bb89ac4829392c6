"""The day's figures per grid, community and street, stored and written as CSV and XLSX.

The nightly run (02:00) reports the local day before `now`. The figures go into
`daily_reports`, one row per day, unit and figure, replacing that day's rows row by row
(a re-run with the same figures changes no row), and into `<reports_dir>/<day>.csv|.xlsx`.
"""

from datetime import date, timedelta
from pathlib import Path

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncEngine

from server.db.engine import write_transaction
from server.db.report_tables import daily_reports
from server.jobs.base import Figures, JobContext
from server.jobs.overdue import local_day
from server.jobs.report_figures import UnitFigures, unit_figures
from server.jobs.report_files import write_report_files


async def store_report(engine: AsyncEngine, day: date, units: list[UnitFigures]) -> int:
    """Make `daily_reports` for `day` hold `units`' figures; returns the rows changed."""
    wanted = {
        (unit.code, figure): (unit.level, value)
        for unit in units
        for figure, value in unit.figures.items()
    }
    async with write_transaction(engine) as connection:
        rows = await connection.execute(
            sa.select(
                daily_reports.c.unit,
                daily_reports.c.figure,
                daily_reports.c.level,
                daily_reports.c.value,
            ).where(daily_reports.c.day == day)
        )
        stored = {(unit, figure): (level, value) for unit, figure, level, value in rows}
        gone = [_key(day, unit, figure) for unit, figure in stored.keys() - wanted.keys()]
        new = [
            {"day": day, "unit": unit, "figure": figure, "level": level, "value": value}
            for (unit, figure), (level, value) in wanted.items()
            if (unit, figure) not in stored
        ]
        changed = [
            _key(day, unit, figure) | {"level": level, "value": value}
            for (unit, figure), (level, value) in wanted.items()
            if stored.get((unit, figure), (level, value)) != (level, value)
        ]
        if gone:
            await connection.execute(daily_reports.delete().where(_BY_KEY), gone)
        if new:
            await connection.execute(daily_reports.insert(), new)
        if changed:
            await connection.execute(
                daily_reports.update()
                .where(_BY_KEY)
                .values(level=sa.bindparam("level"), value=sa.bindparam("value")),
                changed,
            )
    return len(gone) + len(new) + len(changed)


def _key(day: date, unit: str, figure: str) -> dict[str, object]:
    return {"key_day": day, "key_unit": unit, "key_figure": figure}


# A row by its key, bound as `key_*` (one statement executed for many rows).
_BY_KEY = sa.and_(
    daily_reports.c.day == sa.bindparam("key_day"),
    daily_reports.c.unit == sa.bindparam("key_unit"),
    daily_reports.c.figure == sa.bindparam("key_figure"),
)


async def make_report(engine: AsyncEngine, day: date, directory: Path) -> Figures:
    """Count, store and write the report of `day`."""
    async with engine.connect() as connection:
        units = await unit_figures(connection, day)
    changed = await store_report(engine, day, units)
    paths, written = write_report_files(directory, day, units)
    return {
        "day": day.isoformat(),
        "units": len(units),
        "rows_changed": changed,
        "files": paths,
        "files_written": written,
    }


class ReportJob:
    name = "report"
    description = "The day's figures per grid, community and street, as CSV and XLSX."

    async def run(self, context: JobContext) -> Figures:
        day = local_day(context.now) - timedelta(days=1)
        context.progress.update(0, 1, f"report of {day.isoformat()}")
        figures = await make_report(
            context.database, day, Path(context.settings.nightly.reports_dir)
        )
        context.progress.update(1, 1, "done")
        return figures


JOB = ReportJob()
