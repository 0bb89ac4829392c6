"""No secret (password, token, enrollment code, session id) is stored or logged in clear.

Every credential is made and used the way people and tablets do, then every column of
every table and everything logged is searched for them. Stored are only their hashes:
argon2id for passwords, SHA-256 (64 hex digits) for the random secrets.
"""

import re
from typing import Any

import pytest
import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncEngine

from server.access.accounts import AccountChange
from server.access.audit import SYSTEM
from server.access.authenticate import SESSION_COOKIE
from server.access.org import Level, Unit
from server.access.roles import Role
from server.access.secrets import csrf_token
from server.db.access_tables import accounts, devices, enrollments, machine_tokens, sessions

from .harness import Harness, logs_seen_by, org, running_app

PASSWORD = "Xk8#pale-moon-river"
NEW_PASSWORD = "Qz4!quiet-harbour-lamp"
WRONG_PASSWORD = "Wv2?wrong-but-close"
SHA256_HEX = re.compile(r"[0-9a-f]{64}")


async def everything_stored(engine: AsyncEngine) -> str:
    """Every value of every column of every table, as text."""
    async with engine.connect() as connection:
        names = await connection.run_sync(lambda sync: sa.inspect(sync).get_table_names())
        dumped = []
        for name in names:
            table = sa.table(name)
            rows = await connection.execute(sa.select(sa.text("*")).select_from(table))
            dumped += [repr(tuple(row)) for row in rows]
    return "\n".join(dumped)


async def column(harness: Harness, selected: sa.Column[Any]) -> list[Any]:
    async with harness.services.database.connect() as connection:
        return list((await connection.execute(sa.select(selected))).scalars())


async def use_every_kind_of_secret(harness: Harness) -> list[str]:
    """Log in (right and wrong), enroll a tablet by code, rotate its token, make a machine
    token, change a password; each secret is used once. Returns the secrets."""
    access = harness.services.access
    await org(harness, Unit("G", "一网格", Level.GRID))
    coordinator = await access.accounts.create(
        "chen", "陈静", Role.COORDINATOR, ["G"], PASSWORD, SYSTEM
    )
    member = await access.accounts.create("wang", "王芳", Role.GRID_MEMBER, ["G"], None, SYSTEM)
    wrong = await harness.client.post(
        "/api/session", json={"username": "chen", "password": WRONG_PASSWORD}
    )
    assert wrong.status_code == 401
    login = await harness.client.post(
        "/api/session", json={"username": "chen", "password": PASSWORD}
    )
    assert login.status_code == 200, login.text
    session = login.cookies[SESSION_COOKIE]
    harness.client.cookies.clear()
    browser = {"Cookie": f"{SESSION_COOKIE}={session}", "X-CSRF-Token": csrf_token(session)}
    assert (await harness.client.get("/api/households", headers=browser)).status_code == 200

    enrollment = await access.devices.start_enrollment(member, "王芳的平板", SYSTEM)
    enrolled = await harness.client.post("/api/enroll", json={"code": enrollment.code})
    assert enrolled.status_code == 201, enrolled.text
    first_token = enrolled.json()["token"]
    rotated = await harness.client.post(
        "/api/device/rotate", headers={"Authorization": f"Bearer {first_token}"}
    )
    assert rotated.status_code == 200, rotated.text
    second_token = rotated.json()["token"]
    pull = await harness.client.post(
        "/api/sync", json={}, headers={"Authorization": f"Bearer {second_token}"}
    )
    assert pull.status_code == 200, pull.text

    machine = await access.machine_tokens.create("夜间报表", ["G"], SYSTEM)
    read = await harness.client.get(
        "/api/visits", headers={"Authorization": f"Bearer {machine.token}"}
    )
    assert read.status_code == 200, read.text
    await access.accounts.change(coordinator, AccountChange(password=NEW_PASSWORD), SYSTEM)
    return [
        PASSWORD,
        NEW_PASSWORD,
        WRONG_PASSWORD,
        session,
        csrf_token(session),
        enrollment.code,
        first_token,
        second_token,
        machine.token,
    ]


async def test_no_secret_is_stored_or_logged_in_clear(
    database_url: str, caplog: pytest.LogCaptureFixture
) -> None:
    async with running_app(database_url) as harness, logs_seen_by(caplog):
        secrets = await use_every_kind_of_secret(harness)
        stored = await everything_stored(harness.services.database)
        assert "王芳的平板" in stored and "dst_" not in stored  # the dump sees the tables

        [password_hash] = [h for h in await column(harness, accounts.c.password_hash) if h]
        assert password_hash.startswith("$argon2id$")
        hashes = [
            *await column(harness, devices.c.token_hash),
            *await column(harness, machine_tokens.c.token_hash),
            *await column(harness, sessions.c.id_hash),
            *await column(harness, enrollments.c.code_hash),
        ]
        assert len(hashes) == 4 and all(SHA256_HEX.fullmatch(h) for h in hashes)

    logged = caplog.text
    assert "HTTP Request: POST http://testserver.local/api/session" in logged  # logs were seen
    for secret in secrets:
        # Tokens share a prefix (dst_, dsm_): search for what is secret in them.
        for form in {secret, secret.removeprefix("dst_").removeprefix("dsm_")}:
            assert form not in stored, f"{secret[:6]}… is stored in clear"
            assert form not in logged, f"{secret[:6]}… is logged in clear"
