"""A consistent online backup of the database, rotated.

SQLite: the backup API (a consistent copy while the server keeps writing); PostgreSQL:
`pg_dump -Fc`. Written under a temporary name and renamed once complete, so a backup file
is always whole. Its name says when it was taken and what it holds: the log head (the last
sequence number handed out) and a digest of the access tables (the org tree, accounts,
devices, machine tokens), so a run that finds the newest backup holding the same state
takes none. docs/nightly.md has the restore commands.
"""

import asyncio
import hashlib
import os
import re
import shutil
import sqlite3
import time
from contextlib import closing
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncEngine

from server.db import access_tables as access
from server.db.engine import write_transaction
from server.db.tables import seq_counter
from server.jobs.base import Figures, JobContext, Progress

PG_DUMP = "/usr/bin/pg_dump"
_NAME = re.compile(r"^doorstep-(\d{8}T\d{6}Z)-h(\d+)-([0-9a-f]{12})\.(sqlite3|dump)$")
_PARTIAL = ".partial"
# What an admin changes without a document changing: part of what a backup must hold.
_ACCESS_STATE = (
    sa.select(access.org_units.c.code, access.org_units.c.name, access.org_units.c.parent),
    sa.select(access.accounts.c.id, access.accounts.c.username, access.accounts.c.role,
              access.accounts.c.display_name, access.accounts.c.password_hash,
              access.accounts.c.disabled_at),
    sa.select(access.account_units),
    sa.select(access.devices.c.id, access.devices.c.name, access.devices.c.token_hash,
              access.devices.c.revoked_at),
    sa.select(access.machine_tokens.c.id, access.machine_tokens.c.token_hash,
              access.machine_tokens.c.revoked_at),
    sa.select(access.machine_token_units),
)  # fmt: skip


@dataclass(frozen=True, slots=True)
class Backup:
    path: Path
    taken: str
    head: int
    digest: str


def backups(directory: Path) -> list[Backup]:
    """The complete backups in `directory`, oldest first."""
    found = []
    for path in directory.iterdir() if directory.is_dir() else []:
        if match := _NAME.match(path.name):
            found.append(Backup(path, match[1], int(match[2]), match[3]))
    return sorted(found, key=lambda backup: (backup.taken, backup.path.name))


class BackupJob:
    name = "backup"
    description = "A consistent online backup of the database, rotated."

    async def run(self, context: JobContext) -> Figures:
        nightly = context.settings.nightly
        directory = Path(nightly.backups_dir)
        kept = await asyncio.to_thread(_prepare, directory)
        head, digest = await _state(context.database)
        if kept and (kept[-1].head, kept[-1].digest) == (head, digest):
            removed = await asyncio.to_thread(_rotate, directory, nightly.backups_kept)
            return {
                "skipped": f"the newest backup already holds log head {head}",
                "path": str(kept[-1].path),
                "head": head,
                "removed": removed,
            }
        url = sa.make_url(context.settings.database_url)
        suffix = "sqlite3" if url.get_backend_name() == "sqlite" else "dump"
        taken = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
        target = directory / f"doorstep-{taken}-h{head}-{digest}.{suffix}"
        partial = target.with_name(target.name + _PARTIAL)
        started = time.monotonic()
        try:
            if suffix == "sqlite3":
                await asyncio.to_thread(_sqlite_backup, url.database or "", partial)
            else:
                await _pg_dump(url, partial, context.progress)
            await asyncio.to_thread(_durably_rename, partial, target)
        finally:
            await asyncio.to_thread(partial.unlink, missing_ok=True)
        return {
            "path": str(target),
            "bytes": _size(target),
            "head": head,
            "seconds": round(time.monotonic() - started, 3),
            "removed": await asyncio.to_thread(_rotate, directory, nightly.backups_kept),
        }


def _prepare(directory: Path) -> list[Backup]:
    """The folder made, what a killed run left removed, and the backups in it."""
    directory.mkdir(parents=True, exist_ok=True)
    for partial in directory.glob(f"*{_PARTIAL}"):
        partial.unlink()
    return backups(directory)


def _size(path: Path) -> int:
    try:
        return path.stat().st_size
    except FileNotFoundError:
        return 0


async def _state(database: AsyncEngine) -> tuple[int, str]:
    """The log head, and a digest of the access tables."""
    digest = hashlib.sha256()
    async with database.connect() as connection:
        head = (await connection.execute(sa.select(seq_counter.c.value))).scalar() or 0
        for query in _ACCESS_STATE:
            digest.update(repr(sorted(map(tuple, await connection.execute(query)))).encode())
    return int(head), digest.hexdigest()[:12]


def _sqlite_backup(source: str, target: Path) -> None:
    """One step: the copy is of one consistent snapshot (WAL lets the server keep writing).
    The copy leaves WAL mode: one self-contained file, however it is copied back."""
    with closing(sqlite3.connect(source)) as origin, closing(sqlite3.connect(target)) as copy:
        origin.backup(copy)
        copy.execute("PRAGMA journal_mode=DELETE")


async def _pg_dump(url: sa.URL, target: Path, progress: Progress) -> None:
    """`pg_dump -Fc` of the server's database; the connection settings in the environment,
    not on the command line, where any user of the host could read the password."""
    program = shutil.which("pg_dump") or shutil.which(PG_DUMP)
    if program is None:
        raise RuntimeError("pg_dump not found: install postgresql-client")
    settings = {
        "PGHOST": url.host,
        "PGPORT": str(url.port) if url.port else None,
        "PGUSER": url.username,
        "PGPASSWORD": url.password,
        "PGDATABASE": url.database,
    }
    environment = {**os.environ, **{k: str(v) for k, v in settings.items() if v is not None}}
    process = await asyncio.create_subprocess_exec(
        program, "--format=custom", "--no-password", f"--file={target}",
        env=environment, stderr=asyncio.subprocess.PIPE,
    )  # fmt: skip
    assert process.stderr is not None
    errors = asyncio.create_task(process.stderr.read())
    finished = asyncio.create_task(process.wait())
    try:
        while not (await asyncio.wait({finished}, timeout=1))[0]:
            progress.update(_size(target), None, "bytes")
    except asyncio.CancelledError:
        process.kill()
        await asyncio.gather(finished, errors, return_exceptions=True)
        raise
    if process.returncode != 0:
        message = (await errors).decode(errors="replace").strip()
        raise RuntimeError(f"pg_dump exited with {process.returncode}: {message}")


def _durably_rename(partial: Path, target: Path) -> None:
    with partial.open("rb") as written:
        os.fsync(written.fileno())
    os.replace(partial, target)
    directory = os.open(target.parent, os.O_RDONLY)
    try:
        os.fsync(directory)
    finally:
        os.close(directory)


def _rotate(directory: Path, keep: int) -> list[str]:
    """Delete all but the newest `keep` backups (at least one is always kept)."""
    old = backups(directory)[: -max(keep, 1)]
    for backup in old:
        backup.path.unlink(missing_ok=True)
    return [backup.path.name for backup in old]


JOB = BackupJob()


# Far more updates than a server takes between its last backup and a restore.
RESTORE_GAP = 1_000_000_000


async def after_restore(database: AsyncEngine) -> int:
    """Move the log's sequence `RESTORE_GAP` past the restored head; returns the new head.

    Tablets that synced after the backup hold pull cursors past the restored head: updates
    numbered below their cursors would never reach them. Numbered past the gap, every update
    pushed from now on is after every cursor a tablet can hold.
    """
    async with write_transaction(database) as connection:
        bump = (
            sa.update(seq_counter)
            .where(seq_counter.c.id == 1)
            .values(value=seq_counter.c.value + RESTORE_GAP)
            .returning(seq_counter.c.value)
        )
        head: int = (await connection.execute(bump)).scalar_one()
    return head
