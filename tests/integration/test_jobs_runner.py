"""The jobs runner on a real database: run records, the lock, its lease, the timer's slot."""

import asyncio
from datetime import UTC, datetime, timedelta
from typing import Any

import sqlalchemy as sa

from server.db.job_tables import job_locks, job_runs
from server.jobs import lock
from server.jobs.base import Figures, JobContext
from server.jobs.runner import Runner
from server.jobs.timer import next_fire, parse_at

from .harness import Harness, running_app


class Counting:
    """A job that counts its runs and takes `seconds` to do it."""

    description = "counts"

    def __init__(self, name: str = "counting", seconds: float = 0.0) -> None:
        self.name, self.seconds, self.runs = name, seconds, 0

    async def run(self, context: JobContext) -> Figures:
        self.runs += 1
        await asyncio.sleep(self.seconds)
        return {"runs": self.runs, "now": context.now}


class Failing:
    name = "failing"
    description = "fails"

    async def run(self, context: JobContext) -> Figures:
        raise RuntimeError("the disk is full")


def runner(harness: Harness, **options: Any) -> Runner:
    services = harness.services
    settings = harness.app.state.settings
    options.setdefault("trigger", "cli")
    return Runner(
        services.database, services.sync, services.projection.projector, settings, **options
    )


async def runs(harness: Harness, job: str) -> list[dict[str, Any]]:
    async with harness.services.database.connect() as connection:
        rows = await connection.execute(
            sa.select(job_runs).where(job_runs.c.job == job).order_by(job_runs.c.id)
        )
        return [row._asdict() for row in rows]


async def test_runs_are_recorded_and_a_failure_stops_nothing(database_url: str) -> None:
    async with running_app(database_url) as harness:
        counting = Counting()
        frozen = datetime(2026, 11, 24, 2, 0, tzinfo=UTC)
        outcomes = await runner(harness).run_set([Failing(), counting], now=frozen)
        assert [(o.job, o.outcome) for o in outcomes] == [("failing", "failed"), ("counting", "ok")]

        [failed] = await runs(harness, "failing")
        assert failed["outcome"] == "failed" and failed["finished_at"] is not None
        assert "RuntimeError: the disk is full" in failed["error"]
        [ok] = await runs(harness, "counting")
        assert ok["outcome"] == "ok" and ok["trigger"] == "cli" and ok["error"] is None
        assert ok["figures"] == {"runs": 1, "now": "2026-11-24T02:00:00Z"}
        assert ok["started_at"] <= ok["finished_at"]
        # The lock is let go: the next run takes it at once.
        assert (await runner(harness).run(counting)).outcome == "ok"


async def test_a_dead_holders_run_is_abandoned_and_the_job_run_again(database_url: str) -> None:
    async with running_app(database_url) as harness:
        counting = Counting()
        past = datetime.now(UTC) - timedelta(minutes=10)
        async with harness.services.database.begin() as connection:
            dead = (
                await connection.execute(
                    job_runs.insert()
                    .values(
                        job="counting",
                        trigger="timer",
                        slot="2026-11-24",
                        started_at=past,
                        outcome="running",
                        process="old-host:4242:dead",
                    )
                    .returning(job_runs.c.id)
                )
            ).scalar_one()
            await connection.execute(
                job_locks.insert().values(
                    job="counting",
                    holder="old-host:4242:dead",
                    run_id=dead,
                    acquired_at=past,
                    expires_at=past + timedelta(minutes=1),
                )
            )
        # The killed process's night is not done: the slot is run again, once.
        outcome = await runner(harness, trigger="timer").run(counting, slot="2026-11-24")
        assert outcome.outcome == "ok" and counting.runs == 1
        abandoned, done = await runs(harness, "counting")
        assert abandoned["id"] == dead and abandoned["outcome"] == "abandoned"
        assert "stopped before the job finished" in abandoned["error"]
        assert done["outcome"] == "ok" and done["slot"] == "2026-11-24"


async def test_a_live_holder_keeps_its_lock_past_the_lease(database_url: str) -> None:
    """The holder renews its lease while the job runs: another process asking meanwhile,
    even after several leases, finds it busy and records a skipped run."""
    async with running_app(database_url) as harness:
        # Two leases' worth of heartbeats may stall on a loaded two-core machine: 2 s, not 1.
        slow = Counting(seconds=4.5)
        lease = {"lease": timedelta(seconds=2), "heartbeat": timedelta(seconds=0.2)}
        first = asyncio.create_task(runner(harness, **lease).run(slow))
        await asyncio.sleep(0.3)
        asked = []
        while not first.done():
            asked.append(await runner(harness, **lease).run(slow))
            await asyncio.sleep(0.3)
        assert (await first).outcome == "ok" and slow.runs == 1
        assert len(asked) >= 5 and {o.outcome for o in asked} == {"skipped"}
        assert "is running it" in (asked[0].error or "")
        outcomes = [run["outcome"] for run in await runs(harness, "counting")]
        assert outcomes.count("ok") == 1 and outcomes.count("skipped") == len(asked)


async def test_two_runners_at_once_run_a_slot_once(database_url: str) -> None:
    async with running_app(database_url) as harness:
        job = Counting(seconds=0.5)
        timers = [runner(harness, trigger="timer") for _ in range(3)]
        outcomes = await asyncio.gather(
            *(timer.run(job, slot="2026-11-24", wait=True) for timer in timers)
        )
        assert job.runs == 1
        assert sorted(o.outcome for o in outcomes) == ["ok", "skipped", "skipped"]
        [recorded] = await runs(harness, "counting")
        assert recorded["outcome"] == "ok" and recorded["slot"] == "2026-11-24"
        # The next night is another slot.
        assert (await timers[0].run(job, slot="2026-11-25")).outcome == "ok"
        assert job.runs == 2


async def test_a_stopped_process_marks_its_run_abandoned(database_url: str) -> None:
    async with running_app(database_url) as harness:
        running = asyncio.create_task(runner(harness).run(Counting(seconds=30)))
        await asyncio.sleep(0.5)
        running.cancel()
        await asyncio.gather(running, return_exceptions=True)
        [stopped] = await runs(harness, "counting")
        assert stopped["outcome"] == "abandoned"
        assert (await runner(harness).run(Counting())).outcome == "ok"


def test_the_timer_fires_at_the_local_time_next_to_come() -> None:
    from zoneinfo import ZoneInfo

    shanghai = ZoneInfo("Asia/Shanghai")
    at = parse_at("02:00")
    assert at is not None and parse_at("off") is None
    # 01:59 in Shanghai is 17:59 UTC the day before: this night's 02:00.
    before = datetime(2026, 11, 23, 17, 59, tzinfo=UTC)
    assert next_fire(before, at, shanghai) == datetime(2026, 11, 24, 2, 0, tzinfo=shanghai)
    # Right at 02:00 (or later) the next is tomorrow's.
    at_two = datetime(2026, 11, 23, 18, 0, tzinfo=UTC)
    assert next_fire(at_two, at, shanghai) == datetime(2026, 11, 25, 2, 0, tzinfo=shanghai)
    assert parse_at("02:00:30") is not None


async def test_a_killed_holder_on_this_host_is_taken_over_at_once(database_url: str) -> None:
    """Its lease has not lapsed, but its process is gone: no need to wait for the lease."""
    finished = await asyncio.create_subprocess_exec("true")  # a pid that no longer runs
    await finished.wait()
    dead_holder = lock.process_name().split(":")
    dead_holder[1], dead_holder[3] = str(finished.pid), "dead00"
    holder = ":".join(dead_holder)
    assert lock.dead_here(holder) and not lock.dead_here(lock.process_name())
    async with running_app(database_url) as harness:
        now = datetime.now(UTC)
        async with harness.services.database.begin() as connection:
            await connection.execute(
                job_locks.insert().values(
                    job="counting", holder=holder, expires_at=now + timedelta(minutes=5)
                )
            )
        assert (await runner(harness).run(Counting())).outcome == "ok"
        # A holder elsewhere is never judged by this host's processes: its lease decides.
        async with harness.services.database.begin() as connection:
            await connection.execute(
                job_locks.update().values(
                    holder="other-host:1:1:abc", expires_at=now + timedelta(minutes=5)
                )
            )
        assert (await runner(harness).run(Counting())).outcome == "skipped"
