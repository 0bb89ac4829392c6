"""Rows for the nightly jobs' API: admins at a desk only (a run's figures span every grid)."""

import asyncio

import httpx

from .probe import Ask, Probe, answers, expect, plain, row
from .world import ADMIN, SESSION

RUN = {SESSION, ADMIN}


async def run_stale_devices(p: Probe) -> Ask:
    return Ask("POST", "/api/jobs/stale_devices/run")


async def ran(p: Probe, response: httpx.Response, ask: Ask) -> None:
    """Started at once; the run then ends in the background, recorded."""
    expect(response, 202)
    run_id = response.json()["run_id"]
    for _ in range(200):
        runs = await p.send(Ask("GET", "/api/jobs/runs", params={"job": "stale_devices"}))
        expect(runs, 200)
        mine = [run for run in runs.json()["items"] if run["id"] == run_id]
        if mine and mine[0]["outcome"] != "running":
            assert mine[0]["outcome"] == "ok", mine[0]
            return
        await asyncio.sleep(0.05)
    raise AssertionError(f"run {run_id} did not end")


JOB_ROWS = [
    row("GET /api/jobs", RUN, plain("GET", "/api/jobs"), answers(200)),
    row("GET /api/jobs/runs", RUN, plain("GET", "/api/jobs/runs"), answers(200)),
    row("POST /api/jobs/<name>/run", RUN, run_stale_devices, ran),
]
