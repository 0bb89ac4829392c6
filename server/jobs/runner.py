"""Runs one job or the nightly set: takes the job's lock, records the run, renews the lease
while the job works, and records how it ended (docs/nightly.md).

A failing job is recorded `failed` with its traceback and the set goes on with the next
job. A timer run is for a slot (the night): a process that gets the lock after another
finished that slot skips the job without recording anything, so each job runs once a night
however many server processes have the timer on.
"""

import asyncio
import logging
import traceback
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Literal

from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.ext.asyncio import AsyncEngine

from server.db.engine import write_transaction
from server.jobs import lock, records
from server.jobs.base import Figures, Job, JobContext, NoProgress, Progress
from server.records.projection import Projector
from server.settings import Settings
from sync import SyncEngine

log = logging.getLogger(__name__)

Trigger = Literal["cli", "timer", "api"]
# A killed holder's lock lapses after the lease; a live one renews it every heartbeat.
LEASE = timedelta(seconds=90)
HEARTBEAT = timedelta(seconds=15)
# How often a run that waits for a busy lock asks again.
WAIT_POLL_SECONDS = 2.0
STOPPED = "the process was stopped while the job ran"
MAX_ERROR_CHARS = 8000


@dataclass(frozen=True, slots=True)
class Outcome:
    job: str
    # ok | failed | skipped | abandoned; `run_id` None: a done slot, nothing recorded.
    outcome: str
    run_id: int | None
    figures: Figures | None = None
    error: str | None = None


def _utcnow() -> datetime:
    return datetime.now(UTC)


@dataclass
class Runner:
    database: AsyncEngine
    sync: SyncEngine
    projector: Projector
    settings: Settings
    trigger: Trigger
    progress_for: Callable[[Job], Progress] = lambda job: NoProgress()
    lease: timedelta = LEASE
    heartbeat: timedelta = HEARTBEAT
    process: str = field(default_factory=lock.process_name)

    async def run_set(
        self,
        jobs: Iterable[Job],
        *,
        now: datetime | None = None,
        slot: str | None = None,
        wait: bool = False,
    ) -> list[Outcome]:
        """Each job in turn, with one clock for the whole set; a failure stops nothing."""
        now = now or _utcnow()
        return [await self.run(job, now=now, slot=slot, wait=wait) for job in jobs]

    async def run(
        self,
        job: Job,
        *,
        now: datetime | None = None,
        slot: str | None = None,
        wait: bool = False,
    ) -> Outcome:
        """Run `job` under its lock. Another process holding it: wait for it (`wait`),
        or record the run as skipped."""
        run_id = await self.claim(job, slot=slot, wait=wait)
        if isinstance(run_id, Outcome):
            return run_id
        return await self.execute(job, run_id, now=now or _utcnow())

    async def claim(
        self, job: Job, *, slot: str | None = None, wait: bool = False
    ) -> int | Outcome:
        """The lock and a `running` run record, or how the run ended before it began."""
        waiting_for: str | None = None
        dead: str | None = None
        while True:
            try:
                claimed = await lock.claim(
                    self.database,
                    job.name,
                    self.process,
                    self.lease,
                    _utcnow(),
                    trigger=self.trigger,
                    slot=slot,
                    dead=dead,
                )
            except SQLAlchemyError as error:
                # SQLite busy past its timeout, PostgreSQL away: the timer tries again.
                if not wait:
                    raise
                claimed, reason = lock.BUSY, f"the database ({type(error).__name__})"
            else:
                reason = ""
            if claimed == lock.SLOT_DONE:
                log.info("%s: already done for %s by another process", job.name, slot)
                return Outcome(job.name, "skipped", None)
            if isinstance(claimed, int):
                return claimed
            if not reason:
                held = await lock.holder_of(self.database, job.name)
                reason = held[0] if held else "another run"
                if held and lock.dead_here(held[0]) and dead != held[0]:
                    log.info("%s: %s was killed: taking its lock over", job.name, held[0])
                    dead = held[0]
                    continue
            if not wait:
                async with write_transaction(self.database) as connection:
                    why = f"{reason} is running it"
                    run_id = await records.record_skipped(
                        connection, job.name, self.trigger, self.process, _utcnow(), why
                    )
                return Outcome(job.name, "skipped", run_id, error=why)
            if waiting_for != reason:
                log.info("%s: waiting for %s", job.name, reason)
                waiting_for = reason
            await asyncio.sleep(WAIT_POLL_SECONDS)

    async def execute(self, job: Job, run_id: int, *, now: datetime) -> Outcome:
        """Run the claimed job, renewing its lease, and record how it ended."""
        context = JobContext(
            self.database, self.sync, self.projector, self.settings, now, self.progress_for(job)
        )
        work = asyncio.create_task(job.run(context), name=f"job {job.name}")
        try:
            while not (await asyncio.wait({work}, timeout=self.heartbeat.total_seconds()))[0]:
                await self._renew(job)
            figures = work.result()
        except asyncio.CancelledError:
            await _stop(work)
            await self._finish(job, run_id, "abandoned", error=STOPPED)
            raise
        except lock.LockLost as lost:
            await _stop(work)
            # The process that took the lock over has marked this run abandoned already.
            log.error("%s: %s", job.name, lost)
            return Outcome(job.name, "abandoned", run_id, error=str(lost))
        except Exception:
            await _stop(work)
            error = traceback.format_exc()[-MAX_ERROR_CHARS:]
            log.exception("job %s failed", job.name)
            await self._finish(job, run_id, "failed", error=error)
            return Outcome(job.name, "failed", run_id, error=error)
        await self._finish(job, run_id, "ok", figures=figures)
        return Outcome(job.name, "ok", run_id, records.as_json(figures))

    async def _renew(self, job: Job) -> None:
        try:
            await lock.renew(self.database, job.name, self.process, self.lease, _utcnow())
        except (SQLAlchemyError, OSError) as error:
            # A lease outlives several heartbeats: one missed renewal is no loss yet.
            log.warning("%s: could not renew its lock: %s", job.name, error)

    async def _finish(
        self,
        job: Job,
        run_id: int,
        outcome: str,
        figures: Figures | None = None,
        error: str | None = None,
    ) -> None:
        """The run's end and the lock's release, in one transaction: a process that takes
        the lock next sees the run finished."""
        async with write_transaction(self.database) as connection:
            await records.finish(connection, run_id, outcome, _utcnow(), figures, error)
            await lock.release(connection, job.name, self.process)


async def _stop(work: "asyncio.Task[Figures]") -> None:
    """The job stopped before its run is recorded and its lock let go."""
    if not work.done():
        work.cancel()
        await asyncio.gather(work, return_exceptions=True)
