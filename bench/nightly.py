"""The nightly `compact` and `verify` jobs on a million stored updates.

    uv run --frozen python -m bench.nightly                          # 1,000,000 updates, SQLite
    uv run --frozen python -m bench.nightly --updates 100000         # a quick try
    uv run --frozen python -m bench.nightly --database postgresql    # a throwaway database

The database is filled straight in SQL, untimed: a few hundred record histories (a visit,
household or case created, then edited 4–44 times: short fields, notes, long texts, one
Yjs update per edit) are made with the tablet SDK's record layer and pycrdt, then stored
again and again under fresh document ids (a Yjs update does not name its document, so each
copy is a valid document of its own), with each history's projection rows. Every document
was last written two days ago, so the compaction finds all of them idle. Then the compact
job runs, then the verify job (as `doorstep nightly` orders them), each timed in this
process, with its throughput and the process's peak resident memory.
"""

import argparse
import asyncio
import os
import random
import tempfile
import uuid
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from time import perf_counter, process_time
from typing import Any

import sqlalchemy as sa
from pycrdt import Doc
from sqlalchemy.ext.asyncio import AsyncConnection

from bench.harness import PG_ADMIN_URL, Database, ServerWatch, machine, revision
from bench.workload import _GIVEN, _SURNAMES, _long_text
from schemas.decode import decode
from server.db.engine import make_engine, write_transaction
from server.db.migrate import upgrade_async
from server.db.tables import documents, seq_counter, updates
from server.db.update_store import SqlUpdateStore
from server.jobs.base import Figures, JobContext
from server.jobs.compact import JOB as COMPACT
from server.jobs.verify import JOB as VERIFY
from server.records.projection import Projector, _record_tables
from server.settings import Settings
from sync import SyncEngine
from sync.layout import to_plain
from tablet.record import Record

GRIDS = [f"sq{c}-wg{g}" for c in (1, 2, 3) for g in (1, 2, 3, 4)]
DEVICES = [str(uuid.UUID(int=n + 1)) for n in range(200)]
PATTERNS = 400
DOCS_PER_INSERT = 2_000
MB = 1 << 20


@dataclass(frozen=True, slots=True)
class History:
    """One record's life: its updates in order, and the projection rows of the result."""

    kind: str
    grid: str
    updates: list[bytes]
    rows: dict[str, list[dict[str, Any]]]


@dataclass(slots=True)
class Filled:
    documents: int = 0
    updates: int = 0
    update_bytes: int = 0
    doc_ids: list[str] = field(default_factory=list)


def _name(rng: random.Random) -> str:
    return rng.choice(_SURNAMES) + "".join(rng.choices(_GIVEN, k=rng.randint(1, 2)))


def _history(rng: random.Random) -> History:
    made: list[bytes] = []
    record = Record(str(uuid.uuid4()), Doc(), _name(rng), lambda _r, u: made.append(u))
    kind = rng.choice(("visit", "visit", "visit", "household", "case"))
    grid = rng.choice(GRIDS)
    short, long_ = {
        "visit": (("visitor",), ("findings",)),
        "household": (("head_name", "compound", "room"), ()),
        "case": (("title", "place"), ("description", "outcome")),
    }[kind]
    first: dict[str, Any] = {name: _name(rng) for name in short}
    if kind == "visit":
        first["household"] = str(uuid.uuid4())
        first["follow_up_due"] = (
            date(2026, 11, 1) + timedelta(days=rng.randint(0, 60))
        ).isoformat()
    if kind == "household":
        first["phone"] = f"1{rng.choice('3589')}{rng.randrange(10**9):09d}"
    record.initialise(kind, grid, first)
    for _ in range(rng.randint(4, 44)):
        roll = rng.random()
        if roll < 0.45 or not long_:
            record.set(rng.choice(short), _name(rng))
        elif roll < 0.85:
            record.add_note(_long_text(rng, 20, 80), "follow-up")
        else:
            record.set(rng.choice(long_), _long_text(rng, 50, 200))
    rows = decode(record.id, to_plain(record.doc)).tables()
    return History(kind, grid, made, rows)


async def fill(url: str, total_updates: int, seed: int = 1, *, idle: bool = True) -> Filled:
    """`total_updates` updates (about) in documents made from a few hundred histories, with
    their projection rows; last written two days ago when `idle`."""
    rng = random.Random(seed)
    histories = [_history(rng) for _ in range(PATTERNS)]
    engine = make_engine(url)
    filled = Filled()
    at = datetime.now(UTC) - (timedelta(days=2) if idle else timedelta(0))
    try:
        while filled.updates < total_updates:
            chunk = []
            while len(chunk) < DOCS_PER_INSERT and filled.updates < total_updates:
                history = rng.choice(histories)
                chunk.append((str(uuid.uuid4()), history))
                filled.updates += len(history.updates)
            async with write_transaction(engine) as connection:
                await _insert(connection, chunk, filled, at, rng)
    finally:
        await engine.dispose()
    return filled


async def _insert(
    connection: AsyncConnection,
    chunk: list[tuple[str, History]],
    filled: Filled,
    at: datetime,
    rng: random.Random,
) -> None:
    log: list[dict[str, Any]] = []
    docs: list[dict[str, Any]] = []
    projected: dict[str, list[dict[str, Any]]] = {}
    seq = (await connection.execute(sa.select(seq_counter.c.value))).scalar_one()
    for doc_id, history in chunk:
        device = rng.choice(DEVICES)
        for data in history.updates:
            seq += 1
            log.append(
                {
                    "seq": seq,
                    "doc_id": doc_id,
                    "grid": history.grid,
                    "device": device,
                    "data": data,
                    "is_snapshot": False,
                    "created_at": at,
                }
            )
        size = sum(len(data) for data in history.updates)
        filled.update_bytes += size
        docs.append(
            {
                "id": doc_id,
                "kind": history.kind,
                "grid": history.grid,
                "created_by": device,
                "created_at": at,
                "updated_at": at,
                "head_seq": seq,
                "update_count": len(history.updates),
                "byte_size": size,
                "projected_seq": seq,
            }
        )
        for table, rows in history.rows.items():
            projected.setdefault(table, []).extend({**row, "doc_id": doc_id} for row in rows)
        filled.doc_ids.append(doc_id)
    filled.documents += len(chunk)
    await connection.execute(sa.insert(updates), log)
    await connection.execute(sa.insert(documents), docs)
    tables = {table.name: table for table in _record_tables()}
    for name, rows in projected.items():
        if rows:
            await connection.execute(sa.insert(tables[name]), rows)
    await connection.execute(seq_counter.update().values(value=seq))


class Printed:
    """Progress on the terminal, every tenth of the way."""

    def __init__(self, job: str) -> None:
        self.job = job
        self.shown = -1

    def update(self, done: int, total: int | None = None, note: str = "") -> None:
        tenth = done * 10 // total if total else 0
        if tenth != self.shown:
            self.shown = tenth
            print(f"  {self.job}: {done:,}/{total or 0:,} {note}", flush=True)


@dataclass(frozen=True, slots=True)
class Timed:
    figures: Figures
    seconds: float
    # CPU seconds of this process (all its threads) and of the PostgreSQL backends
    cpu: float
    database_cpu: float | None
    peak_rss: int


async def timed(url: str, job: Any, database_name: str | None) -> Timed:
    """The job's figures, wall and CPU seconds, and this process's peak resident memory."""
    engine = make_engine(url)
    try:
        context = JobContext(
            engine,
            SyncEngine(SqlUpdateStore(engine)),
            Projector(engine),
            Settings(database_url=url),
            datetime.now(UTC),
            Printed(job.name),
        )
        with ServerWatch(os.getpid(), database_name) as watch:
            started, cpu = perf_counter(), process_time()
            figures = await job.run(context)
            seconds, cpu = perf_counter() - started, process_time() - cpu
        return Timed(figures, seconds, cpu, watch.database_cpu, watch.peak)
    finally:
        await engine.dispose()


async def run(options: argparse.Namespace) -> str:
    with tempfile.TemporaryDirectory(prefix="doorstep-nightly-") as workdir:
        database = await Database.create(options.database, Path(workdir), options.pg_admin_url)
        try:
            await upgrade_async(database.url)
            print(f"filling {database.kind} with {options.updates:,} updates…", flush=True)
            started = perf_counter()
            filled = await fill(database.url, options.updates, options.seed)
            fill_s = perf_counter() - started
            size = database.size_bytes()
            compacted = await timed(database.url, COMPACT, database.name)
            verified = await timed(database.url, VERIFY, database.name)
            return render(options, filled, fill_s, size, compacted, verified)
        finally:
            await database.drop()


def render(
    options: argparse.Namespace,
    filled: Filled,
    fill_s: float,
    size: int | None,
    compact: Timed,
    verify: Timed,
) -> str:
    m = machine()
    c, c_s, v, v_s = compact.figures, compact.seconds, verify.figures, verify.seconds
    on_disk = f", database file {size / MB:,.0f} MB" if size else ""
    load = ", ".join(f"{figure:.1f}" for figure in os.getloadavg())
    return "\n".join(
        [
            f"doorstep nightly jobs: {filled.updates:,} stored updates in "
            f"{filled.documents:,} documents, {options.database}, seed {options.seed}; "
            f"code {revision()}",
            f"machine: {m['cores']} cores, {m['cpu']}, {m['ram_gb']} GB RAM, "
            f"Python {m['python']}, {m['os']}; load average now {load}",
            f"filled in {fill_s:.0f} s (untimed): {PATTERNS} record histories stored under "
            f"fresh ids, {filled.update_bytes / MB:,.0f} MB of updates{on_disk}",
            f"compact: {c['documents_compacted']:,} documents, {c['rows_before']:,} → "
            f"{c['rows_after']:,} rows, {c['bytes_before'] / MB:,.1f} → "
            f"{c['bytes_after'] / MB:,.1f} MB, skipped {c['skipped']}, in {c_s:.1f} s: "
            f"{c['rows_before'] / c_s:,.0f} updates/s, {c['documents_compacted'] / c_s:,.0f} "
            f"documents/s, {c['bytes_before'] / MB / c_s:,.1f} MB/s; {_cpu(compact)}",
            f"verify: {v['documents_checked']:,} documents checked in {v_s:.1f} s: "
            f"{v['documents_checked'] / v_s:,.0f} documents/s, "
            f"{c['bytes_after'] / MB / v_s:,.1f} MB of compacted log/s; repaired "
            f"{v['documents_repaired']}, caught up {v['documents_caught_up']}; {_cpu(verify)}",
        ]
    )


def _cpu(run: Timed) -> str:
    database = f" + {run.database_cpu:.0f} s PostgreSQL" if run.database_cpu is not None else ""
    return f"CPU {run.cpu:.0f} s{database}; peak RSS {run.peak_rss / MB:,.0f} MB"


def main() -> None:
    parser = argparse.ArgumentParser(description="The compact and verify jobs on 1 M updates")
    parser.add_argument("--updates", type=int, default=1_000_000)
    parser.add_argument("--database", choices=("sqlite", "postgresql"), default="sqlite")
    parser.add_argument("--pg-admin-url", default=PG_ADMIN_URL)
    parser.add_argument("--seed", type=int, default=1)
    print(asyncio.run(run(parser.parse_args())))


if __name__ == "__main__":
    main()
