"""The nightly jobs over HTTP, for admins signed in at a desk: the jobs with their last run,
the runs, and running one now.

Admins only (sessions, like the admin API): a run's figures span every grid (the stale
devices of every account, backup paths on the host), wider than any grid-scoped role or
read-only machine token may see. Running a job is a change: audited, with the CSRF token.
"""

from datetime import UTC, datetime
from typing import Annotated

import msgspec
from litestar import get, post
from litestar.datastructures import State
from litestar.params import FromPath, FromQuery, QueryParameter

from server.access.roles import Permission
from server.admin.common import REFUSED, allow
from server.errors import ClientError
from server.jobs.records import JobRun, last_runs, recent_runs
from server.jobs.registry import JOBS, NIGHTLY
from server.jobs.runner import Runner
from server.jobs.timer import JobTasks
from server.web.dependencies import Caller, ServicesDep
from server.web.openapi import problems
from server.web.params import MAX_ID, Before

MAX_PAGE = 200
Limit = Annotated[int, QueryParameter(ge=1, le=MAX_PAGE)]


class JobView(msgspec.Struct):
    name: str
    description: str
    last_run: JobRun | None


class JobList(msgspec.Struct):
    # In the nightly order.
    items: list[JobView]


class RunPage(msgspec.Struct):
    # Newest first; `next` is the `before` of the next, older page.
    items: list[JobRun]
    next: int | None


class Started(msgspec.Struct):
    job: str
    run_id: int


def _known(name: str) -> str:
    if name not in JOBS:
        raise ClientError(404, "unknown_job", f"no job {name!r}: the jobs are {', '.join(JOBS)}")
    return name


@get("/api/jobs", summary="The nightly jobs and their last runs", responses=problems(*REFUSED))
async def list_jobs(services: ServicesDep, caller: Caller) -> JobList:
    allow(caller, Permission.ADMIN)
    async with services.database.connect() as connection:
        last = await last_runs(connection)
    return JobList([JobView(job.name, job.description, last.get(job.name)) for job in NIGHTLY])


@get(
    "/api/jobs/runs",
    summary="Runs of the nightly jobs, newest first",
    responses=problems(400, *REFUSED, 404),
)
async def list_runs(
    services: ServicesDep,
    caller: Caller,
    job: FromQuery[str | None] = None,
    before: Before = MAX_ID,
    limit: Limit = 50,
) -> RunPage:
    allow(caller, Permission.ADMIN)
    async with services.database.connect() as connection:
        runs = await recent_runs(connection, job and _known(job), before, limit + 1)
    more = len(runs) > limit
    return RunPage(runs[:limit], runs[limit - 1].id if more else None)


@post(
    "/api/jobs/{name:str}/run",
    status_code=202,
    summary="Run a job now, in this server",
    responses=problems(*REFUSED, 404, 409),
)
async def run_job(
    services: ServicesDep, caller: Caller, state: State, name: FromPath[str]
) -> Started:
    """Answers once the job's lock is taken and its run recorded; the run goes on in the
    background (`GET /api/jobs/runs?job=…` shows how it ends). 409 `job_running` when a
    process runs it already."""
    allow(caller, Permission.ADMIN)
    job = JOBS[_known(name)]
    runner = Runner(
        services.database,
        services.sync,
        services.projection.projector,
        state.settings,
        trigger="api",
    )
    claimed = await runner.claim(job)
    if not isinstance(claimed, int):
        raise ClientError(409, "job_running", f"{name} is running in another process already")
    await services.access.audit.record(
        "job.started", caller, target_kind="job", target=name, detail={"run_id": claimed}
    )
    jobs: JobTasks = state.jobs
    jobs.spawn(runner.execute(job, claimed, now=datetime.now(UTC)), f"job {name}")
    return Started(name, claimed)


ROUTES = [list_jobs, list_runs, run_job]
