"""Browser sessions: password login (JSON or form), who am I, logout, CSRF, throttling.

No secret is kept in clear: the database and the logs are searched for the password and
the session cookie after the fact.
"""

import asyncio
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

import httpx
import pytest
import sqlalchemy as sa

from server.access.accounts import AccountChange
from server.access.audit import SYSTEM
from server.access.authenticate import SESSION_COOKIE
from server.access.org import Level, Unit
from server.access.roles import Role
from server.access.sessions import LoginPolicy
from server.db.access_tables import accounts, audit_log
from server.db.tables import metadata

from .harness import Harness, logs_seen_by, running_app

PASSWORD = "correct horse battery"
WRONG = "guess-number-one"
JSON = "application/json"
CLIENT_IP = "127.0.0.1"  # what httpx's ASGI transport reports


@dataclass(frozen=True)
class People:
    coordinator: str  # account ids
    member: str


async def people(harness: Harness) -> People:
    """Street S1 → community C1 → grids G1, G2; 张敏 coordinates C1, 王芳 walks G1."""
    access = harness.services.access
    await access.org.put(
        [
            Unit("S1", "城南街道", Level.STREET),
            Unit("C1", "幸福社区", Level.COMMUNITY, "S1"),
            Unit("G2", "二网格", Level.GRID, "C1"),
            Unit("G1", "一网格", Level.GRID, "C1"),
        ],
        SYSTEM,
    )
    zhang = await access.accounts.create(
        "zhang", "张敏", Role.COORDINATOR, ["C1"], PASSWORD, SYSTEM
    )
    wang = await access.accounts.create("wang", "王芳", Role.GRID_MEMBER, ["G1"], PASSWORD, SYSTEM)
    return People(zhang, wang)


@pytest.fixture
async def harness(database_url: str) -> AsyncIterator[Harness]:
    async with running_app(database_url) as h:
        await people(h)
        yield h


async def login(client: httpx.AsyncClient, username: str, password: str) -> httpx.Response:
    return await client.post("/api/session", json={"username": username, "password": password})


def reason(response: httpx.Response) -> str:
    found: str = response.json()["reason"]
    return found


def session_cookie(response: httpx.Response) -> str:
    return next(c for c in response.headers.get_list("set-cookie") if c.startswith(SESSION_COOKIE))


async def logins(harness: Harness) -> list[tuple[str, str | None, str | None]]:
    """(outcome, username, ip) of every login attempt, oldest first."""
    async with harness.services.database.connect() as connection:
        rows = await connection.execute(
            sa.select(audit_log.c.outcome, audit_log.c.username, audit_log.c.ip)
            .where(audit_log.c.action == "login")
            .order_by(audit_log.c.id)
        )
        return [tuple(row) for row in rows]


async def everything_stored(harness: Harness) -> str:
    """Every row of every table, as text: where a secret kept in clear would show."""
    dumped: list[str] = []
    async with harness.services.database.connect() as connection:
        for table in metadata.sorted_tables:
            dumped += [repr(tuple(row)) for row in await connection.execute(sa.select(table))]
    return "\n".join(dumped)


async def test_login_who_am_i_and_logout(harness: Harness) -> None:
    client = harness.client
    response = await login(client, "zhang", PASSWORD)
    assert response.status_code == 200
    body = response.json()
    assert body["account"] == {
        "id": body["account"]["id"],
        "username": "zhang",
        "display_name": "张敏",
        "role": "coordinator",
        "role_label": "社区工作人员",
    }
    assert body["grids"] == ["G1", "G2"] and "review" in body["permissions"]
    assert body["expires_at"] and len(body["csrf_token"]) >= 32
    assert response.headers["cache-control"] == "no-store"
    cookie = session_cookie(response)
    assert {"HttpOnly", "SameSite=lax", "Path=/"} <= set(cookie.split("; "))
    assert "Secure" not in cookie
    secret = client.cookies[SESSION_COOKIE]

    me = await client.get("/api/session")
    assert me.status_code == 200
    assert me.json()["account"]["username"] == "zhang"
    assert me.json()["grids"] == ["G1", "G2"]
    assert me.json()["csrf_token"] == body["csrf_token"]

    # Logging out is a change: without the CSRF token it is refused and the session lives on.
    refused = await client.delete("/api/session")
    assert (refused.status_code, reason(refused)) == (403, "csrf_failed")
    wrong = await client.delete("/api/session", headers={"X-CSRF-Token": "0" * 64})
    assert (wrong.status_code, reason(wrong)) == (403, "csrf_failed")
    assert (await client.get("/api/session")).status_code == 200

    out = await client.delete("/api/session", headers={"X-CSRF-Token": body["csrf_token"]})
    assert out.status_code == 204
    assert 'doorstep_session=""' in session_cookie(out)  # the browser forgets it
    client.cookies.clear()
    old = await client.get("/api/session", headers={"Cookie": f"{SESSION_COOKIE}={secret}"})
    assert (old.status_code, reason(old)) == (401, "session_expired")
    nobody = await client.get("/api/session")
    assert (nobody.status_code, reason(nobody)) == (401, "missing_credentials")

    stored = await everything_stored(harness)
    assert secret not in stored and PASSWORD not in stored
    assert [outcome for outcome, *_ in await logins(harness)] == ["ok"]


async def test_an_html_form_logs_in_and_out(harness: Harness) -> None:
    client = harness.client
    form = {"username": "wang", "password": PASSWORD, "next": "/console/"}
    response = await client.post("/api/session", data=form)
    assert response.status_code == 200
    assert response.json()["account"]["role_label"] == "网格员"
    csrf = response.json()["csrf_token"]

    # A form cannot send a header: the CSRF token comes as a field, and only the right one works.
    forged = await client.post("/api/session/logout", data={"csrf_token": "forged"})
    assert (forged.status_code, reason(forged)) == (403, "csrf_failed")
    bare = await client.post("/api/session/logout")
    assert (bare.status_code, reason(bare)) == (403, "csrf_failed")
    out = await client.post("/api/session/logout", data={"csrf_token": csrf})
    assert out.status_code == 204
    assert (await client.get("/api/session")).status_code == 401


@pytest.mark.parametrize(
    ("content", "content_type", "status", "why"),
    [
        (b"", JSON, 400, "malformed_request"),
        (b'{"username": "zhang"}', JSON, 400, "malformed_request"),
        (b'{"username": "zhang", "password": 1}', JSON, 400, "malformed_request"),
        (b'{"username": "zhang", "password": "x", "admin": 1}', JSON, 400, "malformed_request"),
        (b"username=zhang", "application/x-www-form-urlencoded", 400, "malformed_request"),
        (b"zhang:" + PASSWORD.encode(), "text/plain", 415, "unsupported_media_type"),
    ],
)
async def test_a_malformed_login_is_a_clear_4xx(
    harness: Harness, content: bytes, content_type: str, status: int, why: str
) -> None:
    response = await harness.client.post(
        "/api/session", content=content, headers={"Content-Type": content_type}
    )
    assert (response.status_code, reason(response)) == (status, why)
    assert SESSION_COOKIE not in harness.client.cookies


async def test_wrong_passwords_and_unknown_names_look_alike(harness: Harness) -> None:
    wrong = await login(harness.client, "zhang", WRONG)
    unknown = await login(harness.client, "nobody", WRONG)
    for response in (wrong, unknown):
        assert (response.status_code, reason(response)) == (401, "login_failed")
        assert "set-cookie" not in response.headers
    assert wrong.json() == unknown.json()


async def test_a_disabled_account_is_refused_at_once(harness: Harness) -> None:
    client = harness.client
    assert (await login(client, "wang", PASSWORD)).status_code == 200
    async with harness.services.database.connect() as connection:
        wang = str(
            await connection.scalar(sa.select(accounts.c.id).where(accounts.c.username == "wang"))
        )
    await harness.services.access.accounts.change(wang, AccountChange(disabled=True), SYSTEM)

    current = await client.get("/api/session")
    assert (current.status_code, reason(current)) == (401, "session_expired")
    again = await login(client, "wang", PASSWORD)
    assert (again.status_code, reason(again)) == (401, "login_failed")


async def test_a_device_token_is_not_a_session(harness: Harness) -> None:
    token = await harness.token("G1")
    response = await harness.client.get(
        "/api/session", headers={"Authorization": f"Bearer {token}"}
    )
    assert (response.status_code, reason(response)) == (401, "session_required")


async def test_the_cookie_is_secure_when_served_over_tls(database_url: str) -> None:
    async with running_app(database_url, secure_cookies=True) as harness:
        await people(harness)
        response = await login(harness.client, "zhang", PASSWORD)
        assert response.status_code == 200
        assert "Secure" in session_cookie(response).split("; ")


def retry_after(response: httpx.Response) -> int:
    assert (response.status_code, reason(response)) == (429, "too_many_attempts")
    return int(response.headers["retry-after"])


async def test_guessing_a_password_is_slowed_down_and_audited(
    database_url: str, caplog: pytest.LogCaptureFixture
) -> None:
    policy = LoginPolicy(free_failures=3, backoff_seconds=1, free_failures_per_address=100)
    async with running_app(database_url, login=policy) as harness, logs_seen_by(caplog):
        await people(harness)
        client = harness.client
        for _ in range(3):  # the free failures
            assert (await login(client, "zhang", WRONG)).status_code == 401

        # Then every attempt waits, even with the right password.
        assert retry_after(await login(client, "zhang", WRONG)) == 1
        assert retry_after(await login(client, "zhang", PASSWORD)) == 1
        # Waiting lets one attempt through; a failure doubles the wait.
        await asyncio.sleep(1.05)
        assert (await login(client, "zhang", WRONG)).status_code == 401
        assert retry_after(await login(client, "zhang", PASSWORD)) == 2
        # Others are not slowed down by it.
        assert (await login(client, "wang", PASSWORD)).status_code == 200
        await asyncio.sleep(2.05)
        assert (await login(client, "zhang", PASSWORD)).status_code == 200
        # A success starts the count afresh.
        assert (await login(client, "zhang", WRONG)).status_code == 401

        attempts = await logins(harness)
        assert [(outcome, name) for outcome, name, _ in attempts] == [
            ("failed", "zhang"),
            ("failed", "zhang"),
            ("failed", "zhang"),
            ("throttled", "zhang"),
            ("throttled", "zhang"),
            ("failed", "zhang"),
            ("throttled", "zhang"),
            ("ok", "wang"),
            ("ok", "zhang"),
            ("failed", "zhang"),
        ]
        assert {ip for *_, ip in attempts} == {CLIENT_IP}
        stored = await everything_stored(harness)
    assert "POST http://testserver.local/api/session" in caplog.text  # the logs were seen
    for secret in (PASSWORD, WRONG):
        assert secret not in stored
        assert secret not in caplog.text


async def test_one_address_trying_many_names_is_slowed_down(database_url: str) -> None:
    policy = LoginPolicy(free_failures=3, backoff_seconds=1, free_failures_per_address=4)
    async with running_app(database_url, login=policy) as harness:
        await people(harness)
        for name in ("wang", "liu", "chen", "zhao"):  # one failure each: none is slowed alone
            assert (await login(harness.client, name, WRONG)).status_code == 401
        assert retry_after(await login(harness.client, "zhang", PASSWORD)) == 1
        attempts: list[Any] = await logins(harness)
        assert attempts[-1] == ("throttled", "zhang", CLIENT_IP)
        assert [outcome for outcome, *_ in attempts] == ["failed"] * 4 + ["throttled"]


async def test_guesses_sent_at_once_are_throttled_like_guesses_in_a_row(
    database_url: str,
) -> None:
    policy = LoginPolicy(free_failures=3, backoff_seconds=60, free_failures_per_address=100)
    async with running_app(database_url, login=policy) as harness:
        await people(harness)
        answers = await asyncio.gather(*(login(harness.client, "zhang", WRONG) for _ in range(8)))
        assert sorted(a.status_code for a in answers) == [401] * 3 + [429] * 5


async def test_an_own_success_does_not_reset_an_addresss_failures(database_url: str) -> None:
    """A guesser with an account of their own cannot log in to wipe the count."""
    policy = LoginPolicy(free_failures=3, backoff_seconds=60, free_failures_per_address=4)
    async with running_app(database_url, login=policy) as harness:
        await people(harness)
        for name in ("liu", "chen", "zhao"):
            assert (await login(harness.client, name, WRONG)).status_code == 401
        assert (await login(harness.client, "wang", PASSWORD)).status_code == 200
        assert (await login(harness.client, "li", WRONG)).status_code == 401
        assert retry_after(await login(harness.client, "zhou", WRONG)) > 0


async def test_a_new_password_ends_the_sessions_of_the_old(harness: Harness) -> None:
    cookie = session_cookie(await login(harness.client, "zhang", PASSWORD))
    assert (await harness.client.get("/api/session")).status_code == 200
    account = (await harness.client.get("/api/session")).json()["account"]["id"]
    change = AccountChange(password="a brand new passphrase")
    await harness.services.access.accounts.change(account, change, SYSTEM)
    answer = await harness.client.get("/api/session")
    assert (answer.status_code, reason(answer)) == (401, "session_expired"), cookie
