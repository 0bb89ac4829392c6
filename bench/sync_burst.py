"""The evening burst: every tablet syncs a day of offline work at once.

    .venv/bin/python -m bench.sync_burst                        # 200 tablets, SQLite
    .venv/bin/python -m bench.sync_burst --database postgresql  # a fresh PostgreSQL database
    .venv/bin/python -m bench.sync_burst --tablets 10 --json    # a quick run, one JSON object

Each tablet makes 38 record documents offline with the SDK (untimed), into its own local
store. Then the clock runs while the tablets call `Tablet.sync()` against a real
`doorstep serve` process, `--concurrency` at a time; it stops when every sync has returned
with its whole outbox pushed. Afterwards a fresh device per grid pulls everything and the
content must equal what the tablets made, and no tablet may have been sent its own updates.

Tablets are spread over `--grids` grids (12): each sync also pulls what its grid-mates
pushed before it, about eight times the pushed bytes, and all 200 simulated tablets apply
those pulls in this one process, on the cores the server uses. `--grids 200` (one tablet
per grid) leaves only the pushes, the workload the design's peer figures measure.

`--url` measures an already-running server instead: `--token-file` then holds
`GRID TOKEN` lines (tokens of grid members' tablets: `doorstep device enroll --account U`
for each, redeemed with `POST /api/enroll`), the first `--tablets` of them for the tablets
and, after those, one more per grid for the check.
"""

import argparse
import asyncio
import gc
import json
import math
import os
import signal
import ssl
import statistics
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from contextlib import AsyncExitStack, nullcontext
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx

from bench.harness import (
    PG_ADMIN_URL,
    Database,
    LoopLag,
    MeteredTransport,
    ServerProcess,
    ServerWatch,
    Wire,
    add_devices,
    busy_cpu_seconds,
    cpu_seconds,
    high_water_mark,
    listening_pid,
    machine,
    revision,
    rss,
)
from bench.report import healthy, render
from bench.workload import DAY, BuiltTablet, build_tablet
from tablet import SyncFailed, Tablet

ATTEMPTS = 3  # a sync that fails (timeout, 5xx) is repeated: the SDK resumes
HTTP_TIMEOUT = 120.0


@dataclass(slots=True)
class Slot:
    """One tablet during the timed phase."""

    built: BuiltTablet
    token: str
    wire: Wire = field(default_factory=Wire)
    latency: float = 0.0
    pulled: int = 0
    refused: int = 0
    unsent: int = 0
    failures: list[str] = field(default_factory=list)


def _grid(index: int, grids: int) -> str:
    return f"bench-g{index % grids + 1:02d}"


def _fast_dir() -> str | None:
    """Tablet stores go to tmpfs when there is one: their fsyncs are not what we measure."""
    shm = Path("/dev/shm")
    return str(shm) if shm.is_dir() and os.access(shm, os.W_OK) else None


def percentile(values: Sequence[float], fraction: float) -> float:
    """Nearest rank: the smallest value with at least `fraction` of the values at or below."""
    ordered = sorted(values)
    return ordered[max(0, math.ceil(fraction * len(ordered)) - 1)] if ordered else 0.0


# Setup ----------------------------------------------------------------------------


def _read_token_file(path: Path, tablets: int) -> tuple[list[tuple[str, str]], dict[str, str]]:
    lines = [line.split() for line in path.read_text().splitlines() if line.strip()]
    pairs = [(grid, token) for grid, token in lines]
    if len(pairs) < tablets:
        raise SystemExit(f"{path} holds {len(pairs)} tokens, fewer than --tablets {tablets}")
    verifiers: dict[str, str] = {}
    for grid, token in pairs[tablets:]:
        verifiers.setdefault(grid, token)
    missing = sorted({grid for grid, _ in pairs[:tablets]} - set(verifiers))
    if missing:
        raise SystemExit(f"{path}: add one more token for each of the grids {missing}")
    return pairs[:tablets], verifiers


@dataclass(slots=True)
class Target:
    """The server under test: where it is, and the tokens to use on it."""

    url: str
    pid: int | None
    database: str
    # Each tablet's (grid, token), and one more token per grid for the check.
    tablets: list[tuple[str, str]]
    checkers: dict[str, str]
    server: ServerProcess | None = None
    store: Database | None = None


async def _start_server(
    options: argparse.Namespace, stack: AsyncExitStack, workdir: Path
) -> Target:
    if options.url:
        tablets, checkers = _read_token_file(options.token_file, options.tablets)
        pid = options.server_pid or listening_pid(options.url)
        return Target(options.url, pid, "as configured on the running server", tablets, checkers)
    database = await Database.create(options.database, workdir, options.pg_admin_url)
    stack.push_async_callback(database.drop)
    server = ServerProcess(database.url, workdir / "server.log")
    stack.callback(server.stop)
    stack.push(_show_log_on_error(server))
    await server.wait_ready()
    grids = [_grid(index, options.grids) for index in range(options.tablets)]
    checker_grids = sorted(set(grids))
    tokens = await add_devices(database.url, grids + checker_grids)
    return Target(
        server.url,
        server.pid,
        database.kind,
        list(zip(grids, tokens, strict=False)),
        dict(zip(checker_grids, tokens[len(grids) :], strict=True)),
        server,
        database,
    )


def _show_log_on_error(server: ServerProcess) -> Callable[..., bool]:
    def show(kind: type[BaseException] | None, *_: object) -> bool:
        if kind is not None and not issubclass(
            kind, SystemExit | KeyboardInterrupt | asyncio.CancelledError
        ):
            print(f"--- server log (tail):\n{server.log_tail()}\n---", file=sys.stderr)
        return False

    return show


async def _build(
    tablets: list[tuple[str, str]], tablet_dir: Path, seed: int, quiet: bool
) -> list[Slot]:
    slots = []
    for index, (grid, token) in enumerate(tablets):
        built = await build_tablet(
            tablet_dir / f"tablet-{index:04d}.db",
            f"member-{index:04d}",
            grid,
            seed * 100_003 + index,
        )
        slots.append(Slot(built, token))
        if not quiet and (index + 1) % 50 == 0:
            print(f"  built {index + 1}/{len(tablets)} tablets", file=sys.stderr)
    return slots


# The timed phase ----------------------------------------------------------------------


async def _sync_one(slot: Slot, url: str, tls: ssl.SSLContext) -> None:
    # Its own connection, as a real tablet has; one TLS context for all (plain HTTP here).
    transport = MeteredTransport(httpx.AsyncHTTPTransport(verify=tls), slot.wire)
    client = httpx.AsyncClient(base_url=url, transport=transport, timeout=HTTP_TIMEOUT)
    tablet = Tablet(slot.built.path, url, slot.token, author=slot.built.author, http=client)
    try:
        for _ in range(ATTEMPTS):
            started = time.perf_counter()
            try:
                report = await tablet.sync()
            except SyncFailed as failure:
                slot.failures.append(str(failure)[:300])
                continue
            finally:
                slot.latency += time.perf_counter() - started
            slot.pulled += report.pulled
            slot.refused = len(report.refused)
            break
        slot.unsent = tablet.store.unsent_count()
    finally:
        await tablet.close()
        await client.aclose()


async def _burst(slots: list[Slot], url: str, concurrency: int) -> tuple[float, float]:
    """Every tablet syncs, `concurrency` at a time.

    Returns the seconds until the last sync returned, and until the last push was
    acknowledged (every document committed; the rest is pulling others' work).
    """
    tls = ssl.create_default_context()
    gate = asyncio.Semaphore(concurrency)

    async def gated(slot: Slot) -> None:
        async with gate:
            await _sync_one(slot, url, tls)

    started = time.perf_counter()
    await asyncio.gather(*(gated(slot) for slot in slots))
    wall = time.perf_counter() - started
    acks = [slot.wire.last_ack for slot in slots if slot.wire.last_ack is not None]
    for slot in slots:
        slot.wire.errors = [(at - started, error) for at, error in slot.wire.errors]
    return wall, max(acks, default=started) - started


# Checks ---------------------------------------------------------------------------------


async def _check(
    slots: list[Slot], url: str, verifiers: dict[str, str], tablet_dir: Path
) -> dict[str, int]:
    """A fresh device per grid pulls everything; compare with what the tablets made."""
    expected_by_grid: dict[str, dict[str, dict[str, Any]]] = {}
    for slot in slots:
        expected_by_grid.setdefault(slot.built.grid, {}).update(slot.built.expected)
    lost = differing = others = 0
    for grid, expected in sorted(expected_by_grid.items()):
        path = tablet_dir / f"check-{grid}.db"
        async with Tablet(path, url, verifiers[grid], author="bench-check") as checker:
            await checker.sync()
            found = {record.id: record.to_plain() for record in checker.records()}
        lost += sum(1 for doc_id in expected if doc_id not in found)
        differing += sum(
            1 for doc_id, plain in expected.items() if doc_id in found and found[doc_id] != plain
        )
        others += sum(1 for doc_id in found if doc_id not in expected)
    echoed = out_of_scope = 0
    for slot in slots:
        own = slot.built.expected
        grid_docs = expected_by_grid[slot.built.grid]
        echoed += sum(1 for doc_id in slot.wire.pulled_docs if doc_id in own)
        out_of_scope += sum(1 for doc_id in slot.wire.pulled_docs if doc_id not in grid_docs)
    return {
        "lost_documents": lost,
        "differing_documents": differing,
        "other_documents_in_scope": others,
        "echoed_own_updates": echoed,
        "pulled_outside_grid": out_of_scope,
    }


# The run ----------------------------------------------------------------------------------


async def run(options: argparse.Namespace) -> dict[str, Any]:
    """One burst; the figures as one JSON-able dict."""
    quiet = options.json
    async with AsyncExitStack() as stack:
        workdir = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="doorstep-bench-")))
        fast = _fast_dir()
        tablet_dir = Path(
            stack.enter_context(tempfile.TemporaryDirectory(prefix="doorstep-tablets-", dir=fast))
        )
        target = await _start_server(options, stack, workdir)
        if not quiet:
            print(f"server {target.url} (pid {target.pid}); building tablets…", file=sys.stderr)
        started = time.perf_counter()
        slots = await _build(target.tablets, tablet_dir, options.seed, quiet)
        build_seconds = time.perf_counter() - started
        gc.collect()
        gc.freeze()  # the built objects stay: keep the collector off them in the timed phase
        if not quiet:
            print(f"timed phase: {len(slots)} tablets syncing…", file=sys.stderr)
        wall, server = await _timed(slots, target, options.concurrency)
        gc.unfreeze()
        checks = await _check(slots, target.url, target.checkers, tablet_dir)
        log = _log_problems(target.server.log_tail(None)) if target.server else []
        database_bytes = target.store.size_bytes() if target.store else None
    return {
        "machine": machine(),
        "revision": revision(),
        "database": target.database,
        "tablet_stores": "tmpfs" if fast else "temp dir",
        **_figures(slots, wall, build_seconds, options),
        **server,
        # The server runs at log level warning: whatever it said is worth a look.
        "server_log_lines": len(log),
        "server_log_sample": log[:8],
        "database_bytes": database_bytes,
        **checks,
    }


async def _timed(
    slots: list[Slot], target: Target, concurrency: int
) -> tuple[float, dict[str, Any]]:
    """The burst, with the server's memory and both sides' CPU watched."""
    pid = target.pid
    idle_rss = rss(pid) if pid else None
    load = os.getloadavg()[0]
    server_cpu = cpu_seconds(pid) if pid else 0.0
    client_cpu = time.process_time()
    machine_cpu = busy_cpu_seconds()
    database = target.store.name if target.store else None
    sampler = ServerWatch(pid, database) if pid else None
    with sampler or nullcontext():
        async with LoopLag() as lag:
            wall, committed = await _burst(slots, target.url, concurrency)
    client_cpu = time.process_time() - client_cpu
    machine_cpu = busy_cpu_seconds() - machine_cpu
    server_cpu = cpu_seconds(pid) - server_cpu if pid else 0.0
    database_cpu = sampler.database_cpu if sampler else None
    return wall, {
        "committed_s": round(committed, 3),
        "load_before": round(load, 2),
        "server_idle_rss_mb": _mb(idle_rss),
        "server_peak_rss_mb": _mb(sampler.peak) if sampler else None,
        "server_rss_samples": sampler.samples if sampler else 0,
        "server_vmhwm_mb": _mb(high_water_mark(pid)) if pid else None,
        "server_cpu_s": round(server_cpu, 2) if pid else None,
        "client_cpu_s": round(client_cpu, 2),
        "client_loop_lag_p99_s": round(percentile(lag.lags, 0.99), 3),
        "client_loop_lag_max_s": round(max(lag.lags, default=0.0), 3),
        "database_cpu_s": None if database_cpu is None else round(database_cpu, 2),
        # Everything else the machine ran meanwhile (other users' tests skew the figures).
        "other_cpu_s": round(
            max(machine_cpu - server_cpu - client_cpu - (database_cpu or 0.0), 0.0), 2
        ),
    }


def _log_problems(log: str) -> list[str]:
    return [line[:300] for line in log.splitlines() if line.strip()]


def _mb(value: float | None) -> float | None:
    return None if value is None else round(value / 2**20, 1)


def _figures(
    slots: list[Slot], wall: float, build_seconds: float, options: argparse.Namespace
) -> dict[str, Any]:
    sizes = [size for slot in slots for size in slot.built.doc_sizes]
    documents = len(sizes)
    updates = sum(slot.built.update_count for slot in slots)
    raw = sum(slot.built.update_bytes for slot in slots)
    sent = sum(slot.wire.sent for slot in slots)
    received = sum(slot.wire.received for slot in slots)
    latencies = [slot.latency for slot in slots]
    return {
        "tablets": len(slots),
        "concurrency": options.concurrency,
        "grids": len({slot.built.grid for slot in slots}),
        "seed": options.seed,
        "documents": documents,
        "documents_per_tablet": sum(count for _, count in DAY),
        "updates": updates,
        "build_s": round(build_seconds, 2),
        "median_doc_bytes": statistics.median(sizes) if sizes else 0,
        "doc_bytes_p10_p90": [percentile(sizes, 0.1), percentile(sizes, 0.9)],
        "total_s": round(wall, 3),
        "docs_per_s": round(documents / wall, 1) if wall else None,
        "updates_per_s": round(updates / wall, 1) if wall else None,
        "latency_p50_s": round(percentile(latencies, 0.5), 3),
        "latency_p99_s": round(percentile(latencies, 0.99), 3),
        "latency_max_s": round(max(latencies, default=0.0), 3),
        "raw_update_bytes": raw,
        "wire_sent_bytes": sent,
        "wire_received_bytes": received,
        "wire_bytes": sent + received,
        "wire_to_raw": round((sent + received) / raw, 3) if raw else None,
        "sent_to_raw": round(sent / raw, 3) if raw else None,
        "requests": sum(slot.wire.requests for slot in slots),
        # As answered on the wire: a sync that fails half-way loses its report, not its pushes.
        "pushed": sum(slot.wire.statuses["accepted"] for slot in slots),
        "duplicates": sum(slot.wire.statuses["duplicate"] for slot in slots),
        "pulled": sum(slot.pulled for slot in slots),
        "pulled_seen_on_wire": sum(len(slot.wire.pulled_docs) for slot in slots),
        "refused_updates": sum(slot.refused for slot in slots),
        "unsent_updates": sum(slot.unsent for slot in slots),
        "failed_attempts": sum(len(slot.failures) for slot in slots),
        "first_failure": next((slot.failures[0] for slot in slots if slot.failures), None),
        "transport_errors": sorted(
            f"{at:.2f} s: {error}" for slot in slots for at, error in slot.wire.errors
        )[:10],
    }


def parse_args(argv: Sequence[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tablets", type=int, default=200)
    parser.add_argument("--concurrency", type=int, default=50)
    parser.add_argument("--grids", type=int, default=12)
    parser.add_argument("--database", choices=("sqlite", "postgresql"), default="sqlite")
    parser.add_argument(
        "--pg-admin-url",
        default=PG_ADMIN_URL,
        help="an existing database to run CREATE/DROP DATABASE from",
    )
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--json", action="store_true", help="print one JSON object")
    parser.add_argument("--url", help="an already-running server (needs --token-file)")
    parser.add_argument("--token-file", type=Path, help="`GRID TOKEN` lines, for --url")
    parser.add_argument("--server-pid", type=int, help="for --url: the process to watch")
    options = parser.parse_args(argv)
    if options.url and not options.token_file:
        parser.error("--url needs --token-file")
    if options.tablets < 1 or options.concurrency < 1 or options.grids < 1:
        parser.error("--tablets, --concurrency and --grids must be at least 1")
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
    return 0 if healthy(result) else 1


if __name__ == "__main__":
    sys.exit(main())
