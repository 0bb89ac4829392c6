"""The stale_devices job with a frozen clock, and the jobs' API that shows its runs."""

import asyncio
from datetime import UTC, datetime, timedelta

from server.access.audit import SYSTEM
from server.access.roles import Role
from server.db.access_tables import devices
from server.db.job_tables import job_locks
from server.jobs.stale_devices import JOB as STALE_DEVICES

from .harness import (
    TWO_COMMUNITIES,
    Harness,
    machine_headers,
    org,
    person,
    running_app,
    session_headers,
)
from .test_jobs_runner import runner

NOW = datetime(2026, 11, 24, 2, 0, tzinfo=UTC)


async def device(harness: Harness, account_id: str, name: str, last_sync: datetime | None) -> str:
    made = await harness.services.access.devices.add(account_id, name, SYSTEM)
    async with harness.services.database.begin() as connection:
        await connection.execute(
            devices.update()
            .where(devices.c.id == made.id)
            .values(created_at=NOW - timedelta(days=30), last_sync_at=last_sync)
        )
    return made.id


async def test_devices_silent_for_n_days_as_of_the_runs_clock(database_url: str) -> None:
    async with running_app(database_url) as harness:
        await org(harness, *TWO_COMMUNITIES)
        wang = await person(harness, Role.GRID_MEMBER, ["G1"], "wangfang")
        li = await person(harness, Role.GRID_LEADER, ["C1"], "lina")  # G1 and G2
        zhao = await person(harness, Role.GRID_MEMBER, ["G3"], "zhaolei")
        silent = await device(harness, wang.account_id, "王芳的平板", NOW - timedelta(days=4))
        await device(harness, wang.account_id, "王芳的手机", NOW - timedelta(days=1))
        never = await device(harness, li.account_id, "李娜的平板", None)
        gone = await device(harness, zhao.account_id, "赵磊的平板", NOW - timedelta(days=9))
        await harness.services.access.devices.revoke(gone, SYSTEM)
        # Exactly three days is not yet more than three days.
        await device(harness, zhao.account_id, "赵磊的新平板", NOW - timedelta(days=3))

        outcome = await runner(harness).run(STALE_DEVICES, now=NOW)
        assert outcome.outcome == "ok" and outcome.figures is not None
        figures = outcome.figures
        assert figures["days"] == 3 and figures["stale"] == 2
        assert figures["per_grid"] == {"G1": 2, "G2": 1}
        listed = {found["id"]: found for found in figures["devices"]}
        assert set(listed) == {silent, never}
        assert listed[silent] == {
            "id": silent,
            "name": "王芳的平板",
            "account": "wangfang",
            "grids": ["G1"],
            "last_sync_at": (NOW - timedelta(days=4)).isoformat(),
        }
        assert listed[never]["last_sync_at"] is None and listed[never]["grids"] == ["G1", "G2"]

        # A week later every device not revoked is silent.
        later = await runner(harness).run(STALE_DEVICES, now=NOW + timedelta(days=7))
        assert later.figures is not None and later.figures["stale"] == 4


async def test_admins_see_the_jobs_and_their_runs(database_url: str) -> None:
    async with running_app(database_url) as harness:
        await org(harness, *TWO_COMMUNITIES)
        admin = await session_headers(harness, await person(harness, Role.ADMIN, [], "root"))
        for day in range(3):
            await runner(harness).run(STALE_DEVICES, now=NOW + timedelta(days=day))

        listed = await harness.client.get("/api/jobs", headers=admin)
        assert listed.status_code == 200, listed.text
        jobs = {job["name"]: job for job in listed.json()["items"]}
        assert list(jobs) == ["compact", "verify", "overdue", "report", "stale_devices", "backup"]
        assert jobs["compact"]["last_run"] is None
        last = jobs["stale_devices"]["last_run"]
        assert last["outcome"] == "ok" and last["figures"]["cutoff"].startswith("2026-11-23")

        page = await harness.client.get("/api/jobs/runs?limit=2", headers=admin)
        assert page.status_code == 200
        first = page.json()
        ids = [run["id"] for run in first["items"]]
        assert len(ids) == 2 and ids[0] > ids[1] and first["next"] == ids[1]
        rest = await harness.client.get(
            f"/api/jobs/runs?limit=2&before={first['next']}&job=stale_devices", headers=admin
        )
        assert [run["figures"]["cutoff"][:10] for run in rest.json()["items"]] == ["2026-11-21"]
        assert rest.json()["next"] is None
        unknown = await harness.client.get("/api/jobs/runs?job=nothing", headers=admin)
        assert unknown.status_code == 404 and unknown.json()["reason"] == "unknown_job"

        # Run one now, from the browser; it is audited.
        started = await harness.client.post("/api/jobs/stale_devices/run", headers=admin)
        assert started.status_code == 202, started.text
        run_id = started.json()["run_id"]
        for _ in range(100):
            runs = (await harness.client.get("/api/jobs/runs", headers=admin)).json()["items"]
            if runs[0]["id"] == run_id and runs[0]["outcome"] != "running":
                break
            await asyncio.sleep(0.05)
        assert runs[0]["outcome"] == "ok" and runs[0]["trigger"] == "api"
        audit = await harness.client.get("/api/admin/audit?action=job.started", headers=admin)
        assert audit.json()["items"][0]["target"] == "stale_devices"

        # Another process running it: refused, nothing started.
        async with harness.services.database.begin() as connection:
            await connection.execute(
                job_locks.update()
                .where(job_locks.c.job == "stale_devices")
                .values(
                    holder="other-host:1:abc", expires_at=datetime.now(UTC) + timedelta(minutes=1)
                )
            )
        busy = await harness.client.post("/api/jobs/stale_devices/run", headers=admin)
        assert busy.status_code == 409 and busy.json()["reason"] == "job_running"

        # A coordinator, or a read-only machine token, is refused.
        coordinator = await person(harness, Role.COORDINATOR, ["C1"], "coordinator")
        refused = await harness.client.get(
            "/api/jobs/runs", headers=await session_headers(harness, coordinator)
        )
        assert refused.status_code == 403
        machine = await harness.client.get(
            "/api/jobs", headers=await machine_headers(harness, ["C1"])
        )
        assert machine.status_code == 403 and machine.json()["reason"] == "session_required"
