"""Run records: what each run of a job did (`job_runs`), for the CLI, the API and the timer."""

from datetime import datetime
from typing import Any

import msgspec
import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection

from server.db.job_tables import job_runs

OUTCOMES = ("running", "ok", "failed", "skipped", "abandoned")
TRIGGERS = ("cli", "timer", "api")
# A timer slot with one of these is done for the night; an abandoned run is retried.
SLOT_DONE = ("ok", "failed")


class JobRun(msgspec.Struct, kw_only=True):
    id: int
    job: str
    trigger: str
    slot: str | None
    started_at: datetime
    finished_at: datetime | None
    outcome: str
    figures: dict[str, Any] | None
    error: str | None
    process: str


def as_json(figures: dict[str, Any]) -> dict[str, Any]:
    """Figures as the JSON column stores them: times as ISO strings, paths as text."""
    encoded = msgspec.json.encode(figures, enc_hook=str)
    decoded: dict[str, Any] = msgspec.json.decode(encoded)
    return decoded


def _run(row: sa.Row[Any]) -> JobRun:
    return JobRun(**row._asdict())


async def recent_runs(
    connection: AsyncConnection, job: str | None = None, before: int | None = None, limit: int = 50
) -> list[JobRun]:
    """Newest first; `before` is a run id (keyset pages)."""
    query = sa.select(job_runs).order_by(job_runs.c.id.desc()).limit(limit)
    if job is not None:
        query = query.where(job_runs.c.job == job)
    if before is not None:
        query = query.where(job_runs.c.id < before)
    return [_run(row) for row in await connection.execute(query)]


async def last_runs(connection: AsyncConnection) -> dict[str, JobRun]:
    """Each job's newest run."""
    newest = sa.select(sa.func.max(job_runs.c.id)).group_by(job_runs.c.job)
    rows = await connection.execute(sa.select(job_runs).where(job_runs.c.id.in_(newest)))
    return {row.job: _run(row) for row in rows}


async def slot_done(connection: AsyncConnection, job: str, slot: str) -> bool:
    query = sa.select(job_runs.c.id).where(
        job_runs.c.job == job, job_runs.c.slot == slot, job_runs.c.outcome.in_(SLOT_DONE)
    )
    return (await connection.execute(query.limit(1))).first() is not None


async def record_skipped(
    connection: AsyncConnection, job: str, trigger: str, process: str, now: datetime, why: str
) -> int:
    run_id: int = (
        await connection.execute(
            job_runs.insert()
            .values(
                job=job,
                trigger=trigger,
                process=process,
                started_at=now,
                finished_at=now,
                outcome="skipped",
                error=why,
            )
            .returning(job_runs.c.id)
        )
    ).scalar_one()
    return run_id


async def finish(
    connection: AsyncConnection,
    run_id: int,
    outcome: str,
    now: datetime,
    figures: dict[str, Any] | None = None,
    error: str | None = None,
) -> None:
    await connection.execute(
        job_runs.update()
        # Still running: a process that took the lock over may have marked it abandoned.
        .where(job_runs.c.id == run_id, job_runs.c.outcome == "running")
        .values(
            outcome=outcome,
            finished_at=now,
            figures=as_json(figures) if figures is not None else None,
            error=error,
        )
    )
