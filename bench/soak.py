"""The soak: tablets syncing steadily for minutes while the server's memory is watched.

    uv run --frozen python -m bench.soak                           # 50 tablets, 10 minutes, SQLite
    uv run --frozen python -m bench.soak --database postgresql     # a fresh PostgreSQL database
    uv run --frozen python -m bench.soak --minutes 2 --every 10    # a quick look

A working day, compressed: each of `--tablets` enrolled tablets (spread over `--grids`
grids) wakes about every `--interval` seconds, makes `--new` record documents with the SDK
(the evening burst's shapes: 6–10 string fields, 1–3 notes), follows up on `--edits` of its
earlier records (a field rewritten or a note added; mostly recent records, sometimes old
ones, which the server has to load again), then syncs: pushes its outbox and pulls its
grid-mates' work. Every `--every` seconds (30) it prints the server's RSS, requests/s,
syncs/s, sync latency, errors and how many documents the SQL projection is behind. At the
end: the table, and whether RSS is flat once the document cache is warm (the last third's
slope against the first third's).

Memory settings reach the server from this process's environment, e.g.
`DOORSTEP_DOC_CACHE_BYTES=16777216` or `MALLOC_ARENA_MAX=2`.
"""

import argparse
import asyncio
import json
import os
import random
import signal
import sys
import tempfile
import time
from collections.abc import Sequence
from contextlib import AsyncExitStack
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import httpx
import sqlalchemy as sa

from bench.harness import (
    PG_ADMIN_URL,
    Database,
    MeteredTransport,
    ServerProcess,
    Wire,
    add_devices,
    cpu_seconds,
    high_water_mark,
    machine,
    revision,
    rss,
)
from bench.sync_burst import percentile
from bench.workload import DAY, edit_record, make_record
from tablet import SyncFailed, Tablet

HTTP_TIMEOUT = 60.0
MB = 2**20
# Of a tablet's follow-ups, this share is on one of its `RECENT` newest records.
RECENT_SHARE = 0.8
RECENT = 10


@dataclass(slots=True)
class Worker:
    """One tablet of the soak, and what it has done so far."""

    path: Path
    grid: str
    author: str
    rng: random.Random
    wire: Wire = field(default_factory=Wire)
    own: list[str] = field(default_factory=list)  # its records, oldest first
    syncs: int = 0
    created: int = 0
    edited: int = 0
    failures: list[tuple[float, str]] = field(default_factory=list)
    # (time.monotonic() at the end, seconds) of each sync.
    latencies: list[tuple[float, float]] = field(default_factory=list)


@dataclass(slots=True)
class Sample:
    """The server and the load over one reporting window (rates per second)."""

    t_s: float
    rss_mb: float
    requests_per_s: float
    syncs_per_s: float
    created: int
    edited: int
    sync_p99_s: float
    errors: int
    projection_behind: int | None
    server_cpu_pct: float
    load1: float


# One tablet ------------------------------------------------------------------------


def _pick(worker: Worker) -> str:
    rng, own = worker.rng, worker.own
    if rng.random() < RECENT_SHARE:
        return rng.choice(own[-RECENT:])
    return rng.choice(own)


def _work_offline(tablet: Tablet, worker: Worker, new: int, edits: int) -> None:
    kinds = [kind for kind, _ in DAY]
    weights = [count for _, count in DAY]
    for _ in range(new):
        kind = worker.rng.choices(kinds, weights)[0]
        worker.own.append(make_record(worker.rng, tablet, kind, worker.grid).id)
        worker.created += 1
    for _ in range(edits if worker.own else 0):
        edit_record(worker.rng, tablet.record(_pick(worker)))
        worker.edited += 1


async def _one_round(
    worker: Worker, client: httpx.AsyncClient, options: argparse.Namespace
) -> None:
    """The app wakes: opens its store, does some work, syncs, and closes it again (its
    loaded records go with it, so the simulated tablets' memory stays bounded)."""
    tablet = Tablet(worker.path, str(client.base_url), author=worker.author, http=client)
    try:
        _work_offline(tablet, worker, options.new, options.edits)
        started = time.monotonic()
        try:
            await tablet.sync()
        except SyncFailed as failure:
            worker.failures.append((time.monotonic(), str(failure)[:300]))
        else:
            worker.syncs += 1
            worker.latencies.append((time.monotonic(), time.monotonic() - started))
    finally:
        await tablet.close()


async def _tablet(worker: Worker, url: str, deadline: float, options: argparse.Namespace) -> None:
    transport = MeteredTransport(httpx.AsyncHTTPTransport(), worker.wire)
    async with httpx.AsyncClient(base_url=url, transport=transport, timeout=HTTP_TIMEOUT) as client:
        # Tablets wake at spread-out moments, not all at once.
        await asyncio.sleep(worker.rng.uniform(0, options.interval))
        while time.monotonic() < deadline:
            woke = time.monotonic()
            await _one_round(worker, client, options)
            pause = worker.rng.uniform(0.5, 1.5) * options.interval - (time.monotonic() - woke)
            await asyncio.sleep(max(0.0, min(pause, deadline - time.monotonic())))


# The watch ---------------------------------------------------------------------------


class Watch:
    """Samples the server and the tablets' counters every `every` seconds."""

    def __init__(self, pid: int, workers: list[Worker], behind: "Behind", every: float) -> None:
        self._pid = pid
        self._workers = workers
        self._behind = behind
        self._every = every
        self.samples: list[Sample] = []
        self._started = time.monotonic()
        self._last = self._counters()

    def _counters(self) -> dict[str, float]:
        workers = self._workers
        return {
            "at": time.monotonic(),
            "cpu": cpu_seconds(self._pid),
            "requests": sum(w.wire.requests for w in workers),
            "syncs": sum(w.syncs for w in workers),
            "created": sum(w.created for w in workers),
            "edited": sum(w.edited for w in workers),
            "errors": sum(len(w.failures) for w in workers),
        }

    async def sample(self) -> Sample:
        now = self._counters()
        last, self._last = self._last, now
        seconds = max(now["at"] - last["at"], 1e-9)
        window = [
            seconds
            for w in self._workers
            for ended, seconds in w.latencies
            if last["at"] < ended <= now["at"]
        ]
        sample = Sample(
            t_s=round(now["at"] - self._started, 1),
            rss_mb=round(rss(self._pid) / MB, 1),
            requests_per_s=round((now["requests"] - last["requests"]) / seconds, 1),
            syncs_per_s=round((now["syncs"] - last["syncs"]) / seconds, 1),
            created=int(now["created"] - last["created"]),
            edited=int(now["edited"] - last["edited"]),
            sync_p99_s=round(percentile(window, 0.99), 3),
            errors=int(now["errors"] - last["errors"]),
            projection_behind=await self._behind.count(),
            server_cpu_pct=round(100 * (now["cpu"] - last["cpu"]) / seconds),
            load1=round(os.getloadavg()[0], 2),
        )
        self.samples.append(sample)
        return sample

    async def run(self, deadline: float, show: bool) -> None:
        if show:
            print(HEADER, file=sys.stderr)
            print(_row(await self.sample()), file=sys.stderr)
        else:
            await self.sample()
        while (left := deadline - time.monotonic()) > 0:
            await asyncio.sleep(min(self._every, left))
            sample = await self.sample()
            if show:
                print(_row(sample), file=sys.stderr, flush=True)


class Behind:
    """How many documents the SQL projection is behind the log (read from the database
    itself: the server has no endpoint for it that a tablet may call)."""

    def __init__(self, database_url: str) -> None:
        from server.db.engine import make_engine

        self._engine = make_engine(database_url, pool_size=1)

    async def count(self) -> int | None:
        from server.db.tables import documents

        query = sa.select(sa.func.count()).where(documents.c.head_seq > documents.c.projected_seq)
        try:
            async with self._engine.connect() as connection:
                return int((await connection.execute(query)).scalar_one())
        except Exception:  # a busy database: this figure is a hint, not the measurement
            return None

    async def close(self) -> None:
        await self._engine.dispose()


HEADER = (
    "   t s  RSS MB  req/s  sync/s  new  edits  sync p99 s  errors  proj behind  server CPU %  load"
)


def _row(s: Sample) -> str:
    behind = "?" if s.projection_behind is None else str(s.projection_behind)
    return (
        f"{s.t_s:6.0f}  {s.rss_mb:6.1f}  {s.requests_per_s:5.1f}  {s.syncs_per_s:6.1f}  "
        f"{s.created:4d}  {s.edited:5d}  {s.sync_p99_s:10.3f}  {s.errors:6d}  {behind:>11}  "
        f"{s.server_cpu_pct:12d}  {s.load1:4.2f}"
    )


# The verdict ---------------------------------------------------------------------------


def slope_mb_per_min(samples: Sequence[Sample]) -> float | None:
    """The least-squares slope of RSS over time, MB a minute (None under two samples)."""
    if len(samples) < 2:
        return None
    xs = [s.t_s / 60 for s in samples]
    ys = [s.rss_mb for s in samples]
    mean_x, mean_y = sum(xs) / len(xs), sum(ys) / len(ys)
    spread = sum((x - mean_x) ** 2 for x in xs)
    if spread == 0:
        return None
    return sum((x - mean_x) * (y - mean_y) for x, y in zip(xs, ys, strict=True)) / spread


def verdict(samples: Sequence[Sample], flat_mb_per_min: float) -> dict[str, Any]:
    """RSS over the first and the last third of the run (the first sample, before any load,
    left out): flat once warm when the last third's slope is under `flat_mb_per_min`."""
    loaded = list(samples[1:])
    third = max(len(loaded) // 3, 2)
    first, last = loaded[:third], loaded[-third:]
    first_slope, last_slope = slope_mb_per_min(first), slope_mb_per_min(last)
    return {
        "rss_idle_mb": samples[0].rss_mb if samples else None,
        "rss_end_mb": samples[-1].rss_mb if samples else None,
        "rss_max_mb": max((s.rss_mb for s in samples), default=None),
        "first_third_mb_per_min": None if first_slope is None else round(first_slope, 2),
        "last_third_mb_per_min": None if last_slope is None else round(last_slope, 2),
        "last_third_rss_mb": [min(s.rss_mb for s in last), max(s.rss_mb for s in last)]
        if last
        else None,
        # From the end of the first third (the cache warm) to the end of the run.
        "growth_once_warm_mb": round(last[-1].rss_mb - first[-1].rss_mb, 1) if last else None,
        "flat_once_warm": last_slope is not None and last_slope < flat_mb_per_min,
    }


def render(result: dict[str, Any]) -> str:
    r, v, m = result, result["verdict"], result["machine"]
    samples = [Sample(**s) for s in r["samples"]]
    lines = [
        f"doorstep soak: {r['tablets']} tablets over {r['grids']} grids for {r['minutes']} min, "
        f"each waking every ~{r['interval_s']} s with {r['new']} new record(s) and "
        f"{r['edits']} follow-up edit(s), seed {r['seed']}",
        f"machine: {m['cores']} cores, {m['cpu']}, {m['ram_gb']} GB RAM, Python {m['python']}",
        f"database: {r['database']}; code: {r['revision']}; server env: {r['server_env'] or '-'}",
        "",
        HEADER,
        *(_row(s) for s in samples),
        "",
        f"totals: {r['syncs']} syncs, {r['requests']} requests, {r['created']} new records, "
        f"{r['edited']} edits; pushed {r['pushed']}, refused {r['refused']}, "
        f"sync errors {r['errors']}",
        f"server RSS: idle {v['rss_idle_mb']} MB, end {v['rss_end_mb']} MB, "
        f"max {v['rss_max_mb']} MB, VmHWM {r['server_vmhwm_mb']} MB",
        f"RSS slope: first third {v['first_third_mb_per_min']} MB/min, last third "
        f"{v['last_third_mb_per_min']} MB/min (range {v['last_third_rss_mb']} MB); "
        f"{v['growth_once_warm_mb']:+} MB from the end of the first third to the end",
        f"flat once warm (last third under {r['flat_mb_per_min']} MB/min): "
        f"{'yes' if v['flat_once_warm'] else 'NO'}",
        f"server log lines (level warning): {r['server_log_lines']}",
        *(f"  {line}" for line in r["server_log_sample"]),
        *(f"first error: {r['first_error']}" for _ in [0] if r["first_error"]),
    ]
    return "\n".join(lines)


# The run -----------------------------------------------------------------------------


def _grid(index: int, grids: int) -> str:
    return f"soak-g{index % grids + 1:02d}"


async def _enroll(
    url: str, database_url: str, directory: Path, options: argparse.Namespace
) -> list[Worker]:
    grids = [_grid(index, options.grids) for index in range(options.tablets)]
    tokens = await add_devices(database_url, grids)
    workers = []
    for index, (grid, token) in enumerate(zip(grids, tokens, strict=True)):
        path = directory / f"tablet-{index:03d}.db"
        author = f"member-{index:03d}"
        await Tablet(path, url, token, author=author).close()  # keeps the token in its store
        workers.append(Worker(path, grid, author, random.Random(options.seed * 100_003 + index)))
    return workers


async def run(options: argparse.Namespace) -> dict[str, Any]:
    show = not options.json
    async with AsyncExitStack() as stack:
        workdir = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="doorstep-soak-")))
        shm = "/dev/shm" if os.access("/dev/shm", os.W_OK) else None
        tablet_dir = Path(
            stack.enter_context(tempfile.TemporaryDirectory(prefix="doorstep-soak-", dir=shm))
        )
        database = await Database.create(options.database, workdir, options.pg_admin_url)
        stack.push_async_callback(database.drop)
        server = ServerProcess(database.url, workdir / "server.log")
        stack.callback(server.stop)
        await server.wait_ready()
        workers = await _enroll(server.url, database.url, tablet_dir, options)
        behind = Behind(database.url)
        stack.push_async_callback(behind.close)
        if show:
            print(f"server {server.url} (pid {server.pid}), {database.kind}", file=sys.stderr)
        deadline = time.monotonic() + options.minutes * 60
        watch = Watch(server.pid, workers, behind, options.every)
        await asyncio.gather(
            watch.run(deadline, show),
            *(_tablet(worker, server.url, deadline, options) for worker in workers),
        )
        vmhwm = high_water_mark(server.pid)
        log = [line[:300] for line in server.log_tail(None).splitlines() if line.strip()]
    return _result(options, database.kind, watch.samples, workers, vmhwm, log)


def _result(
    options: argparse.Namespace,
    database: str,
    samples: list[Sample],
    workers: list[Worker],
    vmhwm: int | None,
    log: list[str],
) -> dict[str, Any]:
    failures = sorted(failure for w in workers for failure in w.failures)
    env = {k: v for k, v in os.environ.items() if k.startswith(("DOORSTEP_", "MALLOC_"))}
    return {
        "machine": machine(),
        "revision": revision(),
        "database": database,
        "server_env": " ".join(f"{k}={v}" for k, v in sorted(env.items())),
        "tablets": options.tablets,
        "grids": options.grids,
        "minutes": options.minutes,
        "interval_s": options.interval,
        "new": options.new,
        "edits": options.edits,
        "seed": options.seed,
        "flat_mb_per_min": options.flat_mb_per_min,
        "syncs": sum(w.syncs for w in workers),
        "requests": sum(w.wire.requests for w in workers),
        "created": sum(w.created for w in workers),
        "edited": sum(w.edited for w in workers),
        "pushed": sum(w.wire.statuses["accepted"] for w in workers),
        "refused": sum(w.wire.statuses["refused"] for w in workers),
        "errors": len(failures),
        "first_error": failures[0][1] if failures else None,
        "server_vmhwm_mb": None if vmhwm is None else round(vmhwm / MB, 1),
        "server_log_lines": len(log),
        "server_log_sample": log[:8],
        "samples": [asdict(s) for s in samples],
        "verdict": verdict(samples, options.flat_mb_per_min),
    }


def parse_args(argv: Sequence[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tablets", type=int, default=50)
    parser.add_argument("--grids", type=int, default=12)
    parser.add_argument("--minutes", type=float, default=10.0)
    parser.add_argument(
        "--interval", type=float, default=5.0, help="seconds between a tablet's syncs (mean)"
    )
    parser.add_argument("--new", type=int, default=1, help="new records per tablet per sync")
    parser.add_argument("--edits", type=int, default=2, help="follow-up edits per sync")
    parser.add_argument("--every", type=float, default=30.0, help="seconds between samples")
    parser.add_argument("--flat-mb-per-min", type=float, default=0.5)
    parser.add_argument("--database", choices=("sqlite", "postgresql"), default="sqlite")
    parser.add_argument(
        "--pg-admin-url",
        default=PG_ADMIN_URL,
        help="an existing database to run CREATE/DROP DATABASE from",
    )
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--json", action="store_true", help="print one JSON object")
    options = parser.parse_args(argv)
    if min(options.tablets, options.grids) < 1 or options.minutes <= 0 or options.every <= 0:
        parser.error("--tablets, --grids, --minutes and --every must be positive")
    return options


async def _main(options: argparse.Namespace) -> dict[str, Any]:
    # SIGTERM cancels like Ctrl-C does, so the server is stopped and the database dropped.
    task = asyncio.current_task()
    assert task is not None
    asyncio.get_running_loop().add_signal_handler(signal.SIGTERM, task.cancel)
    return await run(options)


def main(argv: Sequence[str] | None = None) -> int:
    options = parse_args(argv)
    try:
        result = asyncio.run(_main(options))
    except (KeyboardInterrupt, asyncio.CancelledError):
        print("interrupted: the server is stopped and its database removed", file=sys.stderr)
        return 130
    print(json.dumps(result, ensure_ascii=False) if options.json else render(result))
    return 0 if result["verdict"]["flat_once_warm"] and not result["errors"] else 1


if __name__ == "__main__":
    sys.exit(main())
