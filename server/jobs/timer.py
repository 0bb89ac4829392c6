"""`doorstep serve`'s built-in timer: the nightly set at `settings.nightly.at`, local time.

Every server process may have it on: the jobs' locks and the recorded slot (the local date
of the scheduled time) make each job run once a night. A process that is down at the
scheduled time misses that night; `doorstep nightly` from cron covers such a host.
"""

import asyncio
import logging
from collections.abc import Coroutine
from datetime import UTC, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from server.jobs.progress import LogProgress
from server.jobs.registry import NIGHTLY
from server.jobs.runner import Runner
from server.settings import Settings
from server.web.dependencies import Services

log = logging.getLogger(__name__)
LONGEST_NAP = 60.0


def parse_at(at: str) -> time | None:
    """ "HH:MM" (or "HH:MM:SS"); "off": no timer."""
    if at.strip().lower() == "off":
        return None
    try:
        return time.fromisoformat(at.strip())
    except ValueError:
        raise ValueError(f"DOORSTEP_NIGHTLY_AT: {at!r} is neither HH:MM nor off") from None


def next_fire(after: datetime, at: time, zone: ZoneInfo) -> datetime:
    """The first `at` in `zone` strictly after `after`."""
    local = after.astimezone(zone)
    fire = datetime.combine(local.date(), at, tzinfo=zone)
    if fire <= local:
        fire = datetime.combine(local.date() + timedelta(days=1), at, tzinfo=zone)
    return fire


class JobTasks:
    """The jobs' work in this server process: the nightly timer (none when it is off) and
    the runs the API started. Stopped with the app: a run cut short is recorded abandoned."""

    def __init__(self, services: Services, settings: Settings) -> None:
        at = parse_at(settings.nightly.at)
        zone = ZoneInfo(settings.nightly.timezone)
        self._tasks: set[asyncio.Task[object]] = set()
        if at is not None:
            runner = Runner(
                services.database,
                services.sync,
                services.projection.projector,
                settings,
                trigger="timer",
                progress_for=lambda job: LogProgress(job.name),
            )
            self.spawn(_every_night(runner, at, zone), "nightly")

    def spawn(self, work: Coroutine[Any, Any, object], name: str) -> None:
        task = asyncio.create_task(work, name=name)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def stop(self) -> None:
        for task in list(self._tasks):
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)


async def _every_night(runner: Runner, at: time, zone: ZoneInfo) -> None:
    while True:
        fire = next_fire(datetime.now(UTC), at, zone)
        log.info("nightly jobs next at %s", fire.isoformat())
        await _sleep_until(fire)
        slot = fire.date().isoformat()
        try:
            outcomes = await runner.run_set(NIGHTLY, slot=slot, wait=True)
        except Exception:  # the database away at the time: try again tomorrow
            log.exception("nightly jobs for %s could not run", slot)
            continue
        summary = ", ".join(f"{o.job} {o.outcome}" for o in outcomes)
        log.info("nightly jobs for %s: %s", slot, summary)


async def _sleep_until(moment: datetime) -> None:
    """Short naps against the wall clock: a suspended host or a corrected clock still
    wakes at the right time."""
    while True:
        left = (moment - datetime.now(UTC)).total_seconds()
        if left <= 0:
            return
        await asyncio.sleep(min(left, LONGEST_NAP))
