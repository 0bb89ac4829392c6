"""`doorstep demo --no-serve` builds a street's field day through the real paths, with real
accounts; a server started on the result enrolls a new tablet for a demo member and hands it
everything recorded in the grid, and lets a coordinator log in with the demo password."""

import os
import re
import sqlite3
import subprocess
import time
from collections import Counter
from pathlib import Path
from typing import Any

import httpx
import msgspec
import pytest
from pycrdt import Doc

from schemas.wire import SyncRequest, SyncResponse
from server.demo.cases import CASES, SHARED_CASE
from server.demo.org import STREET
from server.demo.staff import DEMO_PASSWORD
from sync.layout import to_plain

from .conftest import DOORSTEP, ServerProcess

pytestmark = [pytest.mark.slow, pytest.mark.timeout(180)]

# The community and grid of the shared case: where (a) and (b) happen.
DEMO_COMMUNITY = STREET.communities[
    next(case for case in CASES if case.key == SHARED_CASE).community
]
DEMO_GRID = DEMO_COMMUNITY.mediation_grid
ACCOUNTS_BY_ROLE = {
    "grid_member": 12,
    "mediator": 3,
    "coordinator": 3,
    "street_officer": 1,
    "admin": 1,
}
MOBILE = re.compile(r"1[3-9]\d{9}")


def demo(database_url: str, workdir: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [DOORSTEP, "demo", "--no-serve", *args],
        env={**os.environ, "DOORSTEP_DATABASE_URL": database_url},
        cwd=workdir,
        capture_output=True,
        text=True,
        timeout=120,
    )


def enroll(server: ServerProcess, username: str) -> str:
    """A new tablet for a demo account: `doorstep device enroll`, redeemed on the server."""
    started = subprocess.run(
        [DOORSTEP, "device", "enroll", "--account", username, "--name", "检查用平板"],
        env=server.env,
        cwd=server.workdir,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert started.returncode == 0, started.stderr
    answer = httpx.post(f"{server.url}/api/enroll", json={"code": started.stdout.strip()})
    assert answer.status_code == 201, answer.text
    token: str = answer.json()["token"]
    return token


def pull_grid(base_url: str, token: str) -> dict[str, dict[str, Any]]:
    """What a new tablet of the grid gets: every document, merged from the pulled updates."""
    docs: dict[str, Doc[Any]] = {}
    cursor: str | None = None
    headers = {"Authorization": f"Bearer {token}", "Content-Type": "application/msgpack"}
    with httpx.Client(base_url=base_url, headers=headers, timeout=30) as http:
        while True:
            body = msgspec.msgpack.encode(SyncRequest(cursor=cursor))
            response = http.post("/api/sync", content=body)
            assert response.status_code == 200, response.text
            page = msgspec.msgpack.decode(response.content, type=SyncResponse)
            for pulled in page.updates:
                docs.setdefault(pulled.doc, Doc()).apply_update(pulled.update)
            cursor = page.cursor
            if not page.more:
                return {doc_id: to_plain(doc) for doc_id, doc in docs.items()}


def coordinator_sees_flagged_household(base_url: str, summary: str) -> bool:
    """Log in as the coordinator the summary names, and look for the household of (c)."""
    username = re.search(r'"username": "(coordinator-[\w-]+)"', summary)
    flagged = re.search(r"\(c\) household ([0-9a-f-]{36})", summary)
    assert username and flagged, summary
    with httpx.Client(base_url=base_url, timeout=30) as browser:
        login = browser.post(
            "/api/session", json={"username": username.group(1), "password": DEMO_PASSWORD}
        )
        assert login.status_code == 200, login.text
        page = browser.get("/api/households", params={"has_issues": "true"})
        assert page.status_code == 200, page.text
        return flagged.group(1) in {item["doc_id"] for item in page.json()["items"]}


def current_writes(doc: dict[str, Any], field: str) -> list[dict[str, Any]]:
    """The log entries for `field` no other entry has seen: two or more is a conflict."""
    entries = [entry for entry in doc["log"] if entry["f"] == field]
    seen = {prev for entry in entries for prev in entry["prev"]}
    return [entry for entry in entries if entry["id"] not in seen]


def test_demo_builds_a_field_day_a_new_tablet_pulls(tmp_path: Path) -> None:
    database_url = f"sqlite+aiosqlite:///{tmp_path / 'demo.db'}"
    started = time.monotonic()
    built = demo(database_url, tmp_path, "--seed", "11", "--day", "2026-11-20")
    elapsed = time.monotonic() - started
    assert built.returncode == 0, built.stderr
    assert elapsed < 60, f"the demo took {elapsed:.0f} s to build"

    # Everyone has an account; only desk accounts have a password, and never in clear.
    with sqlite3.connect(tmp_path / "demo.db") as db:
        roles = dict(db.execute("SELECT role, count(*) FROM accounts GROUP BY role").fetchall())
        with_password = {
            role
            for (role,) in db.execute("SELECT role FROM accounts WHERE password_hash IS NOT NULL")
        }
        enrolled = db.execute(
            "SELECT count(*) FROM audit_log WHERE action = 'device.enrolled'"
        ).fetchone()
        hashes = [row[0] for row in db.execute("SELECT password_hash FROM accounts")]
    assert roles == ACCOUNTS_BY_ROLE
    assert with_password == {"coordinator", "street_officer", "admin"}
    assert enrolled == (15,)  # every tablet redeemed a one-time code
    assert DEMO_PASSWORD not in repr(hashes)
    assert f"password {DEMO_PASSWORD}" in built.stdout and "for this demo only" in built.stdout
    assert "device add" not in built.stdout
    assert "doorstep device enroll --account member-" in built.stdout

    server = ServerProcess(database_url, tmp_path)
    server.start()
    try:
        docs = pull_grid(server.url, enroll(server, f"member-{DEMO_GRID.lower()}"))
        # The mediator serves the whole community: every grid of it, nothing else.
        mediator_docs = pull_grid(
            server.url, enroll(server, f"mediator-{DEMO_COMMUNITY.code.lower()}")
        )
        coordinator = coordinator_sees_flagged_household(server.url, built.stdout)
    finally:
        server.stop()
    community_grids = {grid.code for grid in DEMO_COMMUNITY.grids}
    assert {doc["meta"]["grid"] for doc in mediator_docs.values()} == community_grids
    assert set(docs) <= set(mediator_docs)

    assert {doc["meta"]["grid"] for doc in docs.values()} == {DEMO_GRID}
    kinds = Counter(doc["meta"]["kind"] for doc in docs.values())
    assert kinds["household"] >= 20 and kinds["visit"] >= 10 and kinds["case"] >= 2, kinds
    households = {d: doc for d, doc in docs.items() if doc["meta"]["kind"] == "household"}
    visits = [doc for doc in docs.values() if doc["meta"]["kind"] == "visit"]
    assert all(visit["fields"]["household"] in households for visit in visits)
    assert all(visit["fields"]["visited_at"].endswith("+08:00") for visit in visits)

    # (a) two people changed one household's phone offline: both writes are kept.
    conflicted = [d for d, doc in households.items() if len(current_writes(doc, "phone")) > 1]
    assert len(conflicted) == 1, conflicted
    heads = current_writes(households[conflicted[0]], "phone")
    authors = {head["by"] for head in heads}
    assert len(authors) == 2 and len({head["v"] for head in heads}) == 2
    assert all(MOBILE.fullmatch(head["v"]) for head in heads)
    assert households[conflicted[0]]["fields"]["phone"] in {head["v"] for head in heads}
    assert conflicted[0] in built.stdout

    # (b) the same two wrote mediation notes on one case on the field day: both kept.
    field_day_notes = {
        d: {note["by"] for note in doc["notes"] if note["at"].startswith("2026-11-20")}
        for d, doc in docs.items()
        if doc["meta"]["kind"] == "case"
    }
    shared = [d for d, by in field_day_notes.items() if by == authors]
    assert len(shared) == 1, field_day_notes
    notes = docs[shared[0]]["notes"]
    assert all(note["kind"] == "mediation" and note["method"] for note in notes)
    assert shared[0] in built.stdout

    # (c) a record with letters for a phone (another grid) was flagged, not refused; the
    # community's coordinator, logged in with the demo password, finds it.
    assert "refused: none" in built.stdout
    assert "flagged fields.phone" in built.stdout
    assert coordinator

    # The demo adds to no one's data: a second run on the same database is refused.
    again = demo(database_url, tmp_path)
    assert again.returncode != 0
    assert "already holds" in again.stderr and "--reset" in again.stderr


def test_demo_never_resets_a_postgresql_database(tmp_path: Path) -> None:
    url = "postgresql+asyncpg://doorstep:secret@127.0.0.1:1/doorstep"
    refused = demo(url, tmp_path, "--reset")
    assert refused.returncode != 0
    assert "never drops" in refused.stderr and "secret" not in refused.stderr
