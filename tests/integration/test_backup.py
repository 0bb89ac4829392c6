"""The backup job: a consistent copy while the server runs, skipped when nothing changed,
rotated; and restored into a fresh database (the documented commands), the app serves the
same documents and the same projection."""

import asyncio
import os
import secrets
import shutil
import subprocess
from pathlib import Path
from typing import Any

import asyncpg
import pytest
import sqlalchemy as sa
from pycrdt import Doc
from sqlalchemy.ext.asyncio import AsyncEngine

from server.db.tables import documents, metadata
from server.jobs.backup import JOB as BACKUP
from server.jobs.backup import after_restore, backups
from server.settings import NightlySettings
from sync.layout import to_plain
from tablet import Tablet

from .harness import BASE, Harness, running_app
from .test_jobs_runner import runner
from .test_projection import HOUSEHOLD, settled

# What a run of the jobs, or any request, moves: not part of what is compared.
CHURN = frozenset({"job_runs", "job_locks", "audit_log"})


async def dump_tables(database: AsyncEngine, leave_out: frozenset[str] = CHURN) -> dict[str, Any]:
    """Every row of every table of the schema, sorted: equal dumps, equal databases."""
    dumped = {}
    async with database.connect() as connection:
        for table in metadata.sorted_tables:
            if table.name not in leave_out:
                rows = await connection.execute(sa.select(table))
                dumped[table.name] = sorted((tuple(row) for row in rows), key=repr)
    return dumped


async def served_documents(harness: Harness, token: str) -> dict[str, Any]:
    """Each document as `GET /docs/{id}/update` serves it, as plain data."""
    async with harness.services.database.connect() as connection:
        ids = sorted((await connection.execute(sa.select(documents.c.id))).scalars())
    served = {}
    for doc_id in ids:
        response = await harness.client.get(
            f"/docs/{doc_id}/update", headers={"Authorization": f"Bearer {token}"}
        )
        assert response.status_code == 200, response.text
        doc: Doc[Any] = Doc()
        doc.apply_update(response.content)
        served[doc_id] = to_plain(doc)
    return served


async def pg_admin(url: str, statement: str) -> None:
    dsn = sa.make_url(url).set(drivername="postgresql", database="postgres")
    connection = await asyncpg.connect(dsn.render_as_string(hide_password=False))
    try:
        await connection.execute(statement)
    finally:
        await connection.close()


def pg_environment(url: str) -> dict[str, str]:
    parsed = sa.make_url(url)
    found = {"PGHOST": parsed.host, "PGPORT": parsed.port, "PGUSER": parsed.username}
    return {**os.environ, **{k: str(v) for k, v in found.items() if v is not None}}


def restored(database_url: str, backup: Path, workdir: Path) -> str:
    """The backup restored into a fresh database by docs/nightly.md's commands."""
    if database_url.startswith("sqlite"):
        workdir.mkdir(parents=True, exist_ok=True)
        copy = workdir / "restored.db"
        shutil.copyfile(backup, copy)
        return f"sqlite+aiosqlite:///{copy}"
    name = f"doorstep_restored_{secrets.token_hex(4)}"
    subprocess.run(["createdb", name], env=pg_environment(database_url), check=True, timeout=60)
    subprocess.run(
        ["pg_restore", "--no-owner", f"--dbname={name}", str(backup)],
        env=pg_environment(database_url),
        check=True,
        timeout=120,
        capture_output=True,
    )
    return sa.make_url(database_url).set(database=name).render_as_string(hide_password=False)


@pytest.mark.timeout(300)
async def test_a_backup_restored_serves_the_same_documents(
    database_url: str, tmp_path: Path
) -> None:
    nightly = NightlySettings(at="off", backups_dir=str(tmp_path / "backups"), backups_kept=2)
    made: list[str] = []
    try:
        async with running_app(database_url, nightly=nightly) as harness:
            tablet, _ = await harness.tablet(tmp_path / "t.sqlite3", "G1", "王芳")
            household = tablet.new_record("household", "G1", {**HOUSEHOLD, "phone": "13800138000"})
            visit = tablet.new_record("visit", "G1", {"purpose": "care_visit"})
            visit.set("household", household.id)
            visit.add_note("约好下周三回访", kind="follow_up")
            await tablet.sync()
            await settled(harness)
            before = await dump_tables(harness.services.database)
            # What a backup killed half-way left: removed, never counted as a backup.
            (tmp_path / "backups").mkdir()
            (
                tmp_path / "backups" / "doorstep-20261120T020000Z-h1-0123456789ab.dump.partial"
            ).touch()
            outcome = await runner(harness).run(BACKUP)
            assert outcome.outcome == "ok" and outcome.figures is not None
            figures = outcome.figures
            assert figures["bytes"] > 0 and figures["head"] > 0 and figures["removed"] == []
            backup = Path(figures["path"])
            assert [b.path for b in backups(backup.parent)] == [backup]
            assert list(backup.parent.iterdir()) == [backup]  # no partial left behind
            first = Path(shutil.copy(backup, tmp_path / "first-backup"))

            # Nothing changed: the second run takes no backup.
            again = await runner(harness).run(BACKUP)
            assert again.figures is not None and "already holds" in again.figures["skipped"]
            assert list(backup.parent.iterdir()) == [backup]
            # Something changed: a new one, and only the newest two are kept.
            for n in range(2):
                tablet.record(visit.id).set("findings", f"第{n}次回访")
                await tablet.sync()
                await runner(harness).run(BACKUP)
            kept = backups(backup.parent)
            assert len(kept) == 2 and backup not in [b.path for b in kept]
            assert kept[-1].head > kept[0].head > figures["head"]
            token = tablet.store.token()
            assert token is not None
            expected = await served_documents(harness, token)
            await tablet.close()

        # The first backup, restored into a fresh database: the same rows, the same
        # documents, served to the same tablet's token.
        restored_url = await asyncio.to_thread(restored, database_url, first, tmp_path)
        made.append(restored_url)
        async with running_app(restored_url) as restored_app:
            assert await dump_tables(restored_app.services.database) == before
        # The newest backup holds the last edits.
        newest = tmp_path / "newest"
        newest_url = await asyncio.to_thread(restored, database_url, kept[-1].path, newest)
        made.append(newest_url)
        async with running_app(newest_url) as newest_app:
            served = await served_documents(newest_app, token)
        assert served == expected
        assert served[visit.id]["fields"]["findings"] == "第1次回访"
    finally:
        for url in made if not database_url.startswith("sqlite") else []:
            name = sa.make_url(url).database
            await pg_admin(database_url, f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")


async def test_after_a_restore_tablets_synced_since_the_backup_still_pull_new_work(
    database_url: str, tmp_path: Path
) -> None:
    """A tablet that synced after the backup holds a cursor past the restored log head.
    `doorstep db restored` numbers new updates past it, so the tablet still pulls them."""
    nightly = NightlySettings(at="off", backups_dir=str(tmp_path / "backups"))
    made: list[str] = []
    try:
        async with running_app(database_url, nightly=nightly) as harness:
            writer, _ = await harness.tablet(tmp_path / "writer.sqlite3", "G1", "王芳")
            reader, _ = await harness.tablet(tmp_path / "reader.sqlite3", "G1", "李强")
            writer.new_record("household", "G1", HOUSEHOLD)
            await writer.sync()
            backup = await runner(harness).run(BACKUP)
            assert backup.figures is not None
            for room in range(3):  # after the backup: lost by the restore
                writer.new_record("household", "G1", {**HOUSEHOLD, "room": f"30{room}"})
            await writer.sync()
            await reader.sync()  # its cursor is now past the backup's head
            tokens = {tablet: tablet.store.token() for tablet in (writer, reader)}
            for tablet in (writer, reader):
                await tablet.close()

        restored_url = await asyncio.to_thread(
            restored, database_url, Path(backup.figures["path"]), tmp_path / "restored"
        )
        made.append(restored_url)
        async with running_app(restored_url) as restored_app:
            await after_restore(restored_app.services.database)
            again = {
                name: Tablet(tmp_path / f"{name}.sqlite3", BASE, tokens[old], http=http)
                for name, old, http in (
                    ("writer", writer, restored_app.client),
                    ("reader", reader, restored_app.client),
                )
            }
            fresh = again["writer"].new_record("household", "G1", {**HOUSEHOLD, "room": "999"})
            await again["writer"].sync()
            await again["reader"].sync()
            assert again["reader"].record(fresh.id).to_plain() == fresh.to_plain()
            for tablet in again.values():
                await tablet.close()
    finally:
        for url in made if not database_url.startswith("sqlite") else []:
            name = sa.make_url(url).database
            await pg_admin(database_url, f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")
