"""`doorstep nightly` and `doorstep jobs …`: run the nightly jobs by hand, cron or systemd.

What a script needs is on stdout (one line per job run: name, outcome, run id); progress,
figures and errors on stderr. Exit status 1 when a job failed.
"""

import json
import time
from datetime import UTC, datetime
from typing import TYPE_CHECKING
from zoneinfo import ZoneInfo

import click

from server.cli.database import with_database
from server.settings import get_settings

if TYPE_CHECKING:
    from sqlalchemy.ext.asyncio import AsyncEngine

    from server.jobs.base import Job
    from server.jobs.runner import Outcome

SHOWN_FIGURES = 400  # characters of a run's figures on the terminal; all of them are stored


def _now(context: click.Context, parameter: click.Parameter, value: str | None) -> datetime | None:
    """An ISO time; without an offset it is the nightly timezone's (Asia/Shanghai)."""
    if value is None:
        return None
    try:
        moment = datetime.fromisoformat(value)
    except ValueError:
        raise click.BadParameter("an ISO time, e.g. 2026-11-24T02:00+08:00") from None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=ZoneInfo(get_settings().nightly.timezone))
    return moment.astimezone(UTC)  # the jobs' clock is UTC


_now_option = click.option(
    "--now",
    callback=_now,
    help="The jobs' clock (ISO time; default: now), to test or backfill, e.g. "
    "2026-11-24T02:00+08:00.",
)


@click.command()
@_now_option
def nightly(now: datetime | None) -> None:
    """Run every nightly job in order (compact, verify, overdue, report, stale_devices,
    backup). A failing job does not stop the others; the exit status is then 1."""
    from server.jobs.registry import NIGHTLY

    _run_and_report(list(NIGHTLY), now)


@click.group()
def jobs() -> None:
    """The nightly jobs: run one, list them, show their recent runs."""


def _job(context: click.Context, parameter: click.Parameter, value: str | None) -> "Job | None":
    """A job by name (the registry is imported only by the commands that need it)."""
    from server.jobs.registry import JOBS

    if value is None:
        return None
    if value not in JOBS:
        raise click.BadParameter(f"{value!r}: the jobs are {', '.join(JOBS)}")
    return JOBS[value]


@jobs.command("run")
@click.argument("job", callback=_job)
@_now_option
def jobs_run(job: "Job", now: datetime | None) -> None:
    """Run one job (`doorstep jobs list` names them). Another process running it already:
    recorded as skipped (exit 0)."""
    _run_and_report([job], now)


@jobs.command("list")
def jobs_list() -> None:
    """The jobs, in the nightly order, with what each does."""
    from server.jobs.registry import NIGHTLY

    for job in NIGHTLY:
        click.echo(f"{job.name:<14} {job.description}")


@jobs.command("runs")
@click.option("--limit", type=click.IntRange(1, 1000), default=20, show_default=True)
@click.option("--job", callback=_job, help="Only this job's runs.")
def jobs_runs(limit: int, job: "Job | None") -> None:
    """Recent runs, newest first: id, job, trigger, start (local time), seconds, outcome."""
    from server.jobs.records import JobRun, recent_runs

    async def read(engine: "AsyncEngine") -> list[JobRun]:
        async with engine.connect() as connection:
            return await recent_runs(connection, job.name if job else None, limit=limit)

    zone = ZoneInfo(get_settings().nightly.timezone)
    for run in with_database(read):
        took = (
            f"{(run.finished_at - run.started_at).total_seconds():.1f}s" if run.finished_at else "-"
        )
        error = (run.error or "").strip().splitlines()[-1:] or [""]
        line = f"{run.id:>6} {run.job:<14} {run.trigger:<5} "
        line += f"{run.started_at.astimezone(zone):%Y-%m-%d %H:%M:%S} {took:>8} {run.outcome:<9}"
        click.echo(f"{line} {error[0][:120]}".rstrip())


def _run_and_report(chosen: "list[Job]", now: datetime | None) -> None:
    outcomes = with_database(lambda engine: _run(engine, chosen, now))
    if any(outcome.outcome in ("failed", "abandoned") for outcome in outcomes):
        raise SystemExit(1)


async def _run(engine: "AsyncEngine", chosen: "list[Job]", now: datetime | None) -> "list[Outcome]":
    from server.db.update_store import SqlUpdateStore
    from server.jobs.progress import TerminalProgress
    from server.jobs.runner import Runner
    from server.records.projection import Projector
    from sync import SyncEngine

    settings = get_settings()
    shown: dict[str, TerminalProgress] = {}

    def progress_for(job: "Job") -> TerminalProgress:
        shown[job.name] = TerminalProgress(job.name)
        return shown[job.name]

    runner = Runner(
        engine,
        SyncEngine(SqlUpdateStore(engine), settings.limits),
        Projector(engine, limits=settings.limits.shape),
        settings,
        trigger="cli",
        progress_for=progress_for,
    )
    clock = now or datetime.now(UTC)
    outcomes = []
    for job in chosen:
        click.echo(f"{job.name}: started", err=True)
        began = time.monotonic()
        outcome = await runner.run(job, now=clock)
        if job.name in shown:
            shown.pop(job.name).close()
        _say(outcome, time.monotonic() - began)
        outcomes.append(outcome)
    return outcomes


def _say(outcome: "Outcome", seconds: float) -> None:
    ended = f"{outcome.job}: {outcome.outcome} in {seconds:.1f}s"
    if outcome.figures is not None:
        figures = json.dumps(outcome.figures, ensure_ascii=False)
        ended += f" {figures[:SHOWN_FIGURES]}{'…' if len(figures) > SHOWN_FIGURES else ''}"
    if outcome.error:
        last = outcome.error.strip().splitlines()[-1]
        ended += f": {last}"
    click.echo(ended, err=True)
    click.echo(f"{outcome.job}\t{outcome.outcome}\t{outcome.run_id or '-'}")
