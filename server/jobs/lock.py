"""The database lock that keeps a job to one process at a time, with a lease.

A row of `job_locks` per job: taking it is one conditional UPDATE (free, or its lease has
lapsed), which both SQLite and PostgreSQL make atomic; the holder renews the lease while
the job runs, so the lock of a killed process lapses and the next run takes it over. Not
PostgreSQL advisory locks: they live in one session, so a job would pin a connection for
hours, and SQLite has nothing alike; not a file lock: two hosts share the database, not a
disk. Lease times are the processes' own clocks (UTC): keep hosts within a few seconds.

A holder is named `host:pid:pid-namespace:random`. One whose process is gone from this
very host (same host name and PID namespace, no such pid) is dead at once: a run started
right after a killed one need not wait for the lease to lapse.
"""

import os
import secrets
import socket
from datetime import datetime, timedelta
from typing import Literal

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from server.db.engine import write_transaction
from server.db.job_tables import job_locks, job_runs
from server.jobs.records import slot_done

ABANDONED = "its process stopped before the job finished"
BUSY: Literal["busy"] = "busy"
SLOT_DONE: Literal["slot_done"] = "slot_done"


class LockLost(Exception):
    """Another process took the lock over: this one stalled past its lease."""


def process_name() -> str:
    return f"{socket.gethostname()}:{os.getpid()}:{_pid_namespace()}:{secrets.token_hex(3)}"


def _pid_namespace() -> str:
    try:
        return os.readlink("/proc/self/ns/pid").removeprefix("pid:[").removesuffix("]")
    except OSError:
        return "-"


def dead_here(holder: str) -> bool:
    """The holder ran on this host and its process is gone (a reused pid looks alive:
    then the lease decides)."""
    host, pid, namespace, *_ = [*holder.split(":"), "", "", ""]
    if (host, namespace) != (socket.gethostname(), _pid_namespace()) or not pid.isdigit():
        return False
    try:
        os.kill(int(pid), 0)
    except ProcessLookupError:
        return True
    except PermissionError:  # someone else's process: alive
        return False
    return False


async def claim(
    database: AsyncEngine,
    job: str,
    holder: str,
    lease: timedelta,
    now: datetime,
    *,
    trigger: str,
    slot: str | None,
    dead: str | None = None,
) -> int | Literal["busy", "slot_done"]:
    """Take `job`'s lock and record its run in one transaction: the run's id; BUSY when
    another live process holds the lock; SLOT_DONE (lock let go) when `slot` was finished
    already. `dead`: a holder known dead, taken over whatever its lease. A run of the job
    still marked running is then known dead: it is marked abandoned."""
    async with write_transaction(database) as connection:
        await _ensure_row(connection, job)
        taken = await connection.execute(
            job_locks.update()
            .where(
                job_locks.c.job == job,
                sa.or_(
                    job_locks.c.holder.is_(None),
                    job_locks.c.expires_at < now,
                    job_locks.c.holder == dead if dead else sa.false(),
                ),
            )
            .values(holder=holder, acquired_at=now, expires_at=now + lease)
        )
        if taken.rowcount != 1:
            return BUSY
        if slot is not None and await slot_done(connection, job, slot):
            await release(connection, job, holder)
            return SLOT_DONE
        await connection.execute(
            job_runs.update()
            .where(job_runs.c.job == job, job_runs.c.outcome == "running")
            .values(outcome="abandoned", finished_at=now, error=ABANDONED)
        )
        run_id: int = (
            await connection.execute(
                job_runs.insert()
                .values(
                    job=job,
                    process=holder,
                    outcome="running",
                    started_at=now,
                    trigger=trigger,
                    slot=slot,
                )
                .returning(job_runs.c.id)
            )
        ).scalar_one()
        await connection.execute(
            job_locks.update().where(job_locks.c.job == job).values(run_id=run_id)
        )
        return run_id


async def renew(
    database: AsyncEngine, job: str, holder: str, lease: timedelta, now: datetime
) -> None:
    async with write_transaction(database) as connection:
        renewed = await connection.execute(
            job_locks.update()
            .where(job_locks.c.job == job, job_locks.c.holder == holder)
            .values(expires_at=now + lease)
        )
    if renewed.rowcount != 1:
        raise LockLost(f"the lock of {job} was taken over by another process")


async def release(connection: AsyncConnection, job: str, holder: str) -> None:
    await connection.execute(
        job_locks.update()
        .where(job_locks.c.job == job, job_locks.c.holder == holder)
        .values(holder=None, run_id=None, acquired_at=None, expires_at=None)
    )


async def holder_of(database: AsyncEngine, job: str) -> tuple[str, datetime] | None:
    """Who holds `job`'s lock and until when, if anyone does."""
    async with database.connect() as connection:
        row = (
            await connection.execute(
                sa.select(job_locks.c.holder, job_locks.c.expires_at).where(
                    job_locks.c.job == job, job_locks.c.holder.is_not(None)
                )
            )
        ).first()
    return (row.holder, row.expires_at) if row else None


async def _ensure_row(connection: AsyncConnection, job: str) -> None:
    """The job's lock row, inserted the first time (a concurrent insert waits, then skips)."""
    insert = postgresql.insert if connection.dialect.name == "postgresql" else sqlite.insert
    await connection.execute(insert(job_locks).values(job=job).on_conflict_do_nothing())
