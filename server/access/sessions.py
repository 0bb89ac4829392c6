"""Browser sessions: password login (throttled and audited), cookies, logout.

Throttling counts the failures since the last success, per username and per address, in
the audit log itself, so it holds across server processes and restarts. After a few free
failures each further attempt must wait twice as long as the one before.
"""

import asyncio
import math
import secrets
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from server.access.audit import Actor, Audit
from server.access.devices import units_of
from server.access.org import grids_below
from server.access.principal import Principal
from server.access.roles import PERMISSIONS, Role
from server.access.secrets import hash_secret, password_matches
from server.db.access_tables import accounts, audit_log, sessions
from server.db.engine import write_transaction
from server.errors import ClientError, NotAuthenticated

LAST_SEEN_RESOLUTION = timedelta(minutes=1)


@dataclass(frozen=True, slots=True)
class LoginPolicy:
    free_failures: int = 5
    backoff_seconds: float = 2.0
    max_backoff_seconds: float = 900.0
    # An address may fail this many times (across usernames) before it is slowed down.
    free_failures_per_address: int = 20
    window: timedelta = timedelta(hours=1)
    session_lifetime: timedelta = timedelta(hours=12)
    idle_timeout: timedelta = timedelta(hours=2)


class TooManyAttempts(ClientError):
    def __init__(self, retry_after: float) -> None:
        super().__init__(
            429,
            "too_many_attempts",
            f"too many failed logins: try again in {math.ceil(retry_after)} s",
        )
        self.retry_after = retry_after


@dataclass(frozen=True, slots=True)
class NewSession:
    secret: str
    account_id: str
    expires_at: datetime


class Sessions:
    def __init__(self, engine: AsyncEngine, audit: Audit, policy: LoginPolicy) -> None:
        self._engine = engine
        self._audit = audit
        self.policy = policy
        self._one_at_a_time = asyncio.Lock()

    async def login(self, username: str, password: str, ip: str | None) -> NewSession:
        # One attempt at a time per process: concurrent guesses would all read the failure
        # count before any of them is written. Throttled attempts pass quickly.
        async with self._one_at_a_time:
            account = await self._check_password(username, password, ip)
        secret = secrets.token_urlsafe(32)
        now = datetime.now(UTC)
        session = NewSession(secret, account.id, now + self.policy.session_lifetime)
        async with write_transaction(self._engine) as connection:
            await connection.execute(
                sessions.insert().values(
                    id_hash=hash_secret(secret),
                    account_id=account.id,
                    created_at=now,
                    expires_at=session.expires_at,
                    last_seen_at=now,
                    ip=ip,
                )
            )
            await self._audit.record(
                "login",
                Actor(account.id, account.username, ip=ip),
                target=username,
                connection=connection,
            )
        return session

    async def _check_password(self, username: str, password: str, ip: str | None) -> Any:
        """The account, if the attempt is allowed and right; audits what went wrong."""
        actor = Actor(username=username[:64], ip=ip)
        async with self._engine.connect() as connection:
            wait = await self._wait(connection, username, ip)
            account = (
                await connection.execute(sa.select(accounts).where(accounts.c.username == username))
            ).first()
        if wait > 0:
            await self._audit.record("login", actor, outcome="throttled", target=username[:100])
            raise TooManyAttempts(wait)
        # Checked even for an unknown username, so both take as long (no user enumeration);
        # in a thread, as argon2 takes tens of milliseconds and releases the GIL.
        password_hash = account.password_hash if account else None
        matches = await asyncio.to_thread(password_matches, password_hash, password)
        if account is None or not matches or account.disabled_at is not None:
            await self._audit.record("login", actor, outcome="failed", target=username[:100])
            raise NotAuthenticated("login_failed", "wrong username or password")
        return account

    async def _wait(self, connection: AsyncConnection, username: str, ip: str | None) -> float:
        """Seconds until the next attempt for this username or address is allowed."""
        by_name = await self._recent(connection, audit_log.c.target == username[:100], True)
        waits = [self._backoff(by_name, self.policy.free_failures)]
        if ip:
            # Not reset by a success: a guesser with an account of their own could.
            by_address = await self._recent(connection, audit_log.c.ip == ip, False)
            waits.append(self._backoff(by_address, self.policy.free_failures_per_address))
        return max(waits)

    async def _recent(
        self, connection: AsyncConnection, who: sa.ColumnElement[bool], reset_by_success: bool
    ) -> list[datetime]:
        """Times of the failures within the window (since the last success if
        `reset_by_success`), newest first."""
        since = datetime.now(UTC) - self.policy.window
        rows = await connection.execute(
            sa.select(audit_log.c.at, audit_log.c.outcome)
            .where(audit_log.c.action == "login", who, audit_log.c.at > since)
            .order_by(audit_log.c.id.desc())
            .limit(200)
        )
        failures: list[datetime] = []
        for at, outcome in rows:
            if outcome == "ok" and reset_by_success:
                break
            if outcome == "failed":
                failures.append(at)
        return failures

    def _backoff(self, failures: list[datetime], free: int) -> float:
        if len(failures) < free:
            return 0.0
        delay = min(
            self.policy.backoff_seconds * 2 ** (len(failures) - free),
            self.policy.max_backoff_seconds,
        )
        return max(
            0.0, (failures[0] + timedelta(seconds=delay) - datetime.now(UTC)).total_seconds()
        )

    async def authenticate(self, secret: str, ip: str | None) -> Principal:
        now = datetime.now(UTC)
        async with self._engine.connect() as connection:
            row = (
                await connection.execute(
                    sa.select(sessions.c.last_seen_at, accounts)
                    .join(accounts, accounts.c.id == sessions.c.account_id)
                    .where(
                        sessions.c.id_hash == hash_secret(secret),
                        sessions.c.revoked_at.is_(None),
                        sessions.c.expires_at > now,
                        sessions.c.last_seen_at > now - self.policy.idle_timeout,
                        accounts.c.disabled_at.is_(None),
                    )
                )
            ).first()
            if row is None:
                raise NotAuthenticated("session_expired", "log in again")
            grids = await grids_below(connection, units_of(row.id))
        if now - row.last_seen_at >= LAST_SEEN_RESOLUTION:
            async with write_transaction(self._engine) as connection:
                await connection.execute(
                    sessions.update()
                    .where(sessions.c.id_hash == hash_secret(secret))
                    .values(last_seen_at=now)
                )
        role = Role(row.role)
        return Principal(
            "session",
            PERMISSIONS[role],
            grids,
            account_id=row.id,
            username=row.username,
            role=role,
            ip=ip,
        )

    async def logout(self, secret: str, principal: Principal) -> None:
        async with write_transaction(self._engine) as connection:
            await connection.execute(
                sessions.update()
                .where(sessions.c.id_hash == hash_secret(secret))
                .values(revoked_at=datetime.now(UTC))
            )
            await self._audit.record("logout", principal, connection=connection)
