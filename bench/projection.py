"""Projection throughput and lag under the evening burst.

    python -m bench.projection [--tablets 200] [--concurrency 50] [--database postgresql]

Starts a real `doorstep serve`, lets N tablets sync a day of offline work each (the
workload of `bench.sync_burst`), samples `GET /api/projection` meanwhile, and prints how
far the SQL tables fell behind and how soon they caught up. Then it measures the
projection alone: every document marked unprojected, one `Projector.catch_up` in this
process, documents per second.
"""

import argparse
import asyncio
import tempfile
import time
from pathlib import Path

import httpx

from bench.harness import Database, ServerProcess, add_devices, machine
from bench.workload import build_tablet
from server.db.engine import make_engine
from server.db.migrate import upgrade_async
from server.db.tables import documents
from server.records.projection import Projector
from tablet import Tablet

PG_ADMIN = "postgresql+asyncpg://postgres@127.0.0.1:5432/test"


async def sample_lag(
    url: str, token: str, samples: list[tuple[float, int]], stop: asyncio.Event
) -> None:
    async with httpx.AsyncClient(
        base_url=url, headers={"Authorization": f"Bearer {token}"}
    ) as http:
        started = time.perf_counter()
        while not stop.is_set():
            lag = (await http.get("/api/projection")).json()
            samples.append((time.perf_counter() - started, lag["pending_documents"]))
            await asyncio.sleep(0.1)


async def burst(url: str, tokens: list[str], paths: list[Path], concurrency: int) -> None:
    gate = asyncio.Semaphore(concurrency)

    async def one(path: Path, token: str) -> None:
        async with gate, Tablet(path, url, token) as tablet:
            await tablet.sync()

    await asyncio.gather(*(one(p, t) for p, t in zip(paths, tokens, strict=True)))


async def catch_up_alone(url: str) -> tuple[int, float]:
    """Every document re-projected from the log in this process: (documents, seconds)."""
    database = make_engine(url)
    try:
        async with database.begin() as connection:
            await connection.execute(documents.update().values(projected_seq=0))
        projector = Projector(database)
        started = time.perf_counter()
        count = await projector.catch_up()
        return count, time.perf_counter() - started
    finally:
        await database.dispose()


async def run(options: argparse.Namespace) -> None:
    with tempfile.TemporaryDirectory(prefix="doorstep-projection-") as folder:
        workdir = Path(folder)
        database = await Database.create(options.database, workdir, PG_ADMIN)
        try:
            await upgrade_async(database.url)
            grids = [f"G{i % options.grids:02d}" for i in range(options.tablets)]
            tokens = await add_devices(database.url, grids)
            # The lag counts every grid's documents: an admin's figure.
            [admin] = await add_devices(database.url, ["G00"], role="admin")
            paths = [workdir / f"t{i}.sqlite3" for i in range(options.tablets)]
            for index, (path, grid) in enumerate(zip(paths, grids, strict=True)):
                await build_tablet(path, f"员{index}", grid, index)
            server = ServerProcess(database.url, workdir / "server.log")
            try:
                await server.wait_ready()
                samples: list[tuple[float, int]] = []
                stop = asyncio.Event()
                sampler = asyncio.create_task(sample_lag(server.url, admin, samples, stop))
                started = time.perf_counter()
                await burst(server.url, tokens, paths, options.concurrency)
                pushed = time.perf_counter() - started
                while not samples or samples[-1][1] or samples[-1][0] < pushed:  # noqa: ASYNC110
                    await asyncio.sleep(0.1)  # the sampler's figures say when
                caught_up = time.perf_counter() - started
                stop.set()
                await sampler
            finally:
                server.stop()
            docs = options.tablets * 38
            count, alone = await catch_up_alone(database.url)
        finally:
            await database.drop()
    print(f"machine: {machine()}")
    print(f"database: {options.database}; {options.tablets} tablets × 38 documents = {docs}")
    print(f"burst: every push acknowledged after {pushed:.2f} s")
    print(
        f"lag: at most {max(n for _, n in samples)} documents behind; caught up at "
        f"{caught_up:.2f} s ({caught_up - pushed:.2f} s after the last push)"
    )
    print(f"projected during the burst: {docs / caught_up:.0f} documents/s end to end")
    print(
        f"projection alone (catch-up from the log, one process): {count} documents in "
        f"{alone:.2f} s = {count / alone:.0f} documents/s"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--tablets", type=int, default=200)
    parser.add_argument("--concurrency", type=int, default=50)
    parser.add_argument("--grids", type=int, default=12)
    parser.add_argument("--database", choices=("sqlite", "postgresql"), default="sqlite")
    asyncio.run(run(parser.parse_args()))


if __name__ == "__main__":
    main()
