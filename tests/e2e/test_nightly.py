"""The nightly jobs from the outside: `doorstep nightly` and `doorstep jobs …` as a cron job
would run them, and two `doorstep serve` processes with the built-in timer on."""

import asyncio
import json
import os
import signal
import subprocess
import time
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
import sqlalchemy as sa

from server.db.engine import make_engine
from server.db.job_tables import job_runs
from server.jobs.registry import NIGHTLY
from tests.integration.harness import running_app
from tests.integration.test_backup import dump_tables
from tests.integration.test_projection import HOUSEHOLD, settled

from .conftest import DOORSTEP, ServerProcess
from .test_cli import lines

pytestmark = [pytest.mark.slow, pytest.mark.timeout(400)]
NAMES = [job.name for job in NIGHTLY]


async def _seed(database_url: str, workdir: Path) -> None:
    """A field day: two tablets' households, visits with notes, an overdue case."""
    async with running_app(database_url) as harness:
        for n, grid in enumerate(("G1", "G2")):
            tablet, _ = await harness.tablet(workdir / f"tablet{n}.sqlite3", grid, f"网格员{n}")
            household = tablet.new_record("household", grid, {**HOUSEHOLD, "room": f"50{n}"})
            visit = tablet.new_record("visit", grid, {"purpose": "care_visit"})
            visit.set("household", household.id)
            visit.add_note("约好下周三回访", kind="follow_up")
            # Past its deadline: the overdue job flags it, the report counts it.
            case = {"title": "楼上漏水", "type": "neighbours", "deadline": "2026-11-01"}
            tablet.new_record("case", grid, case)
            await tablet.sync()
            await tablet.close()
        await settled(harness)


def seed(database_url: str, workdir: Path) -> None:
    asyncio.run(_seed(database_url, workdir))


def dump(database_url: str) -> dict[str, Any]:
    async def read() -> dict[str, Any]:
        engine = make_engine(database_url)
        try:
            return await dump_tables(engine)
        finally:
            await engine.dispose()

    return asyncio.run(read())


def recorded_runs(database_url: str) -> list[dict[str, Any]]:
    async def read() -> list[dict[str, Any]]:
        engine = make_engine(database_url)
        try:
            async with engine.connect() as connection:
                rows = await connection.execute(sa.select(job_runs).order_by(job_runs.c.id))
                return [row._asdict() for row in rows]
        finally:
            await engine.dispose()

    return asyncio.run(read())


def cli(
    database_url: str, workdir: Path, *args: str, **env: str
) -> subprocess.CompletedProcess[str]:
    """A `doorstep` command with the jobs' folders in `workdir`."""
    folders = {
        "DOORSTEP_BACKUPS_DIR": str(workdir / "backups"),
        "DOORSTEP_REPORTS_DIR": str(workdir / "reports"),
    }
    return subprocess.run(
        [DOORSTEP, *args],
        env={**os.environ, "DOORSTEP_DATABASE_URL": database_url, **folders, **env},
        cwd=workdir,
        capture_output=True,
        text=True,
        timeout=300,
    )


def outcomes(result: subprocess.CompletedProcess[str]) -> dict[str, str]:
    """stdout: one `job<TAB>outcome<TAB>run id` line per run."""
    return {line.split("\t")[0]: line.split("\t")[1] for line in lines(result.stdout)}


def figures_of(stderr: str, job: str) -> dict[str, Any]:
    """The figures on a job's end line (`job: ok in 0.1s {…}`)."""
    [line] = [line for line in lines(stderr) if line.startswith(f"{job}: ok in ")]
    found: dict[str, Any] = json.loads(line.split("s ", 1)[1])
    return found


def test_nightly_from_the_command_line_and_a_second_run_changes_nothing(
    database_url: str, tmp_path: Path
) -> None:
    seed(database_url, tmp_path)
    first = cli(database_url, tmp_path, "nightly")
    assert first.returncode == 0, first.stderr
    assert outcomes(first) == {name: "ok" for name in NAMES}, first.stdout
    for name in NAMES:  # start and end lines on the terminal
        assert f"{name}: started" in first.stderr and f"{name}: ok in" in first.stderr
    [backup] = (tmp_path / "backups").iterdir()
    assert figures_of(first.stderr, "overdue")["overdue"] >= 2  # the two cases: work was done

    tables = dump(database_url)
    second = cli(database_url, tmp_path, "nightly")
    assert second.returncode == 0, second.stderr
    assert outcomes(second) == {name: "ok" for name in NAMES}
    assert dump(database_url) == tables
    assert list((tmp_path / "backups").iterdir()) == [backup]
    assert "the newest backup already holds log head" in second.stderr

    # One job; the runs listed newest first; an unknown job named with the known ones.
    one = cli(database_url, tmp_path, "jobs", "run", "stale_devices", "--now", "2026-12-24T02:00")
    assert one.returncode == 0 and lines(one.stdout)[0].startswith("stale_devices\tok\t")
    assert '"cutoff": "2026-12-20T18:00:00+00:00"' in one.stderr  # --now in Asia/Shanghai
    listed = cli(database_url, tmp_path, "jobs", "runs", "--limit", "7")
    assert listed.returncode == 0
    rows = [line.split() for line in lines(listed.stdout)]
    assert [row[1] for row in rows] == ["stale_devices", *reversed(NAMES)]
    assert {row[2] for row in rows} == {"cli"} and {row[-1] for row in rows} == {"ok"}
    unknown = cli(database_url, tmp_path, "jobs", "run", "vacuum")
    assert unknown.returncode == 2 and "the jobs are compact, verify" in unknown.stderr
    assert lines(cli(database_url, tmp_path, "jobs", "list").stdout)[0].startswith("compact ")

    # A failing job is recorded with its error, the others still run, the exit status is 1.
    (tmp_path / "a-file").write_text("not a folder")
    failing = cli(
        database_url, tmp_path, "nightly", DOORSTEP_BACKUPS_DIR=str(tmp_path / "a-file" / "x")
    )
    assert failing.returncode == 1
    assert outcomes(failing) == {name: "ok" for name in NAMES} | {"backup": "failed"}
    last = recorded_runs(database_url)[-1]
    assert last["job"] == "backup" and last["outcome"] == "failed"
    assert "NotADirectoryError" in last["error"] or "FileExistsError" in last["error"]


def test_two_servers_with_the_timer_on_run_each_job_once(database_url: str, tmp_path: Path) -> None:
    seed(database_url, tmp_path)
    shanghai = ZoneInfo("Asia/Shanghai")
    # Far enough ahead for both processes to start, even on a loaded machine.
    fire = (datetime.now(shanghai) + timedelta(seconds=60)).replace(microsecond=0)
    servers = []
    for n in range(2):
        workdir = tmp_path / f"server{n}"
        workdir.mkdir()
        server = ServerProcess(database_url, workdir)
        server.env |= {
            "DOORSTEP_NIGHTLY_AT": f"{fire:%H:%M:%S}",
            "DOORSTEP_BACKUPS_DIR": str(tmp_path / "backups"),
            "DOORSTEP_REPORTS_DIR": str(tmp_path / "reports"),
        }
        servers.append(server)
    try:
        with ThreadPoolExecutor(2) as starting:
            list(starting.map(ServerProcess.start, servers))
        assert datetime.now(shanghai) < fire, "the servers started too late for the test"
        deadline = time.monotonic() + 300
        while time.monotonic() < deadline:
            finished = [r for r in recorded_runs(database_url) if r["outcome"] != "running"]
            if {r["job"] for r in finished} >= set(NAMES):
                break
            time.sleep(1)
        time.sleep(3)  # a duplicate run, if there were one, would have begun by now
        runs = recorded_runs(database_url)
    finally:
        for server in servers:
            server.stop()
    slot = fire.date().isoformat()
    assert [(r["job"], r["trigger"], r["slot"], r["outcome"]) for r in runs] == [
        (name, "timer", slot, "ok") for name in NAMES
    ], [(r["job"], r["outcome"], r["process"], r["error"]) for r in runs]


def test_a_killed_nightly_run_is_finished_by_the_next_one(
    database_url: str, tmp_path: Path
) -> None:
    """SIGKILL while the jobs run: the next `doorstep nightly`, started at once, takes the
    dead process's locks over (same host, its pid gone), marks its run abandoned and does
    every job."""
    seed(database_url, tmp_path)
    folders = {"DOORSTEP_BACKUPS_DIR": str(tmp_path / "backups")}
    with subprocess.Popen(
        [DOORSTEP, "nightly"],
        env={**os.environ, "DOORSTEP_DATABASE_URL": database_url, **folders},
        cwd=tmp_path,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    ) as killed:
        assert killed.stderr is not None
        for line in killed.stderr:
            if line.startswith("verify: started"):
                break
        time.sleep(0.05)
        killed.send_signal(signal.SIGKILL)
        killed.wait()
    left_running = {r["id"] for r in recorded_runs(database_url) if r["outcome"] == "running"}

    again = cli(database_url, tmp_path, "nightly")
    assert again.returncode == 0, again.stderr
    assert outcomes(again) == {name: "ok" for name in NAMES}, again.stderr
    runs = recorded_runs(database_url)
    assert all(r["outcome"] != "running" for r in runs)
    assert {r["id"] for r in runs if r["outcome"] == "abandoned"} == left_running
