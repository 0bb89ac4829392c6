"""The members and devices page: a coordinator sees and manages the tablets of its own
community's field workers only, enrolls one with a code and QR code shown on the page, and
revokes one so that its next request is refused; other roles are turned away."""

import re
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from html.parser import HTMLParser

import pytest
import sqlalchemy as sa

from server.access.audit import SYSTEM
from server.access.authenticate import SESSION_COOKIE
from server.access.roles import Role
from server.db.access_tables import audit_log, devices
from server.errors import ClientError

from .harness import TWO_COMMUNITIES, Harness, Person, org, person, running_app, session_headers

LAST_SYNC = datetime(2026, 1, 5, 20, 30, tzinfo=UTC)  # 2026-01-06 04:30 in Asia/Shanghai


class Page(HTMLParser):
    """The accounts shown (username → device names) and each device's row attributes."""

    def __init__(self, text: str) -> None:
        super().__init__()
        self.accounts: dict[str, list[str]] = {}
        self.rows: dict[str, dict[str, str]] = {}
        self._account = ""
        self.text = text
        self.feed(text)

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        seen = {name: value or "" for name, value in attrs}
        if "data-account" in seen:
            self._account = seen["data-account"]
            self.accounts[self._account] = []
        if tag == "tr" and "data-device" in seen:
            self.accounts[self._account].append(seen["data-device"])
            self.rows[seen["data-device"]] = seen


@dataclass
class World:
    zhang: dict[str, str]  # the coordinator of community C1 (grids G1, G2)
    wang: Person  # grid member in G1
    wang_token: str
    wang_device: str
    zhao_token: str  # grid member in G3, community C2
    zhao_device: str


async def world(harness: Harness) -> World:
    access = harness.services.access
    await org(harness, *TWO_COMMUNITIES)
    zhang = await person(harness, Role.COORDINATOR, ["C1"], "zhang")
    wang = await person(harness, Role.GRID_MEMBER, ["G1"], "wang")
    li = await person(harness, Role.GRID_MEMBER, ["G2"], "li")
    zhao = await person(harness, Role.GRID_MEMBER, ["G3"], "zhao")
    wangs = await access.devices.add(wang.account_id, "王芳的平板", SYSTEM)
    await access.devices.add(li.account_id, "李的平板", SYSTEM)
    zhaos = await access.devices.add(zhao.account_id, "别处的平板", SYSTEM)
    async with harness.services.database.begin() as connection:
        # 李's tablet last synced long ago; 王's just now: only 李's is marked silent.
        await connection.execute(
            devices.update()
            .where(devices.c.name == "李的平板")
            .values(created_at=LAST_SYNC - timedelta(days=1), last_sync_at=LAST_SYNC)
        )
        await connection.execute(
            devices.update()
            .where(devices.c.name == "王芳的平板")
            .values(last_sync_at=datetime.now(UTC), app_version="1.4.2")
        )
    return World(
        await session_headers(harness, zhang),
        wang,
        wangs.token,
        wangs.id,
        zhaos.token,
        zhaos.id,
    )


def form_post(headers: dict[str, str]) -> tuple[dict[str, str], str]:
    """A browser's form post: the cookie, and the CSRF token as a field (not a header)."""
    return {"Cookie": headers["Cookie"]}, headers["X-CSRF-Token"]


async def shown(harness: Harness, headers: dict[str, str]) -> Page:
    response = await harness.client.get("/console/devices", headers=headers)
    assert response.status_code == 200, response.text
    return Page(response.text)


async def sync_status(harness: Harness, token: str) -> int:
    response = await harness.client.post(
        "/api/sync", json={}, headers={"Authorization": f"Bearer {token}"}
    )
    return response.status_code


async def test_a_coordinator_enrolls_and_revokes_its_own_field_workers_tablets_only(
    database_url: str,
) -> None:
    async with running_app(database_url) as harness:
        w = await world(harness)
        page = await shown(harness, w.zhang)
        assert page.accounts == {"li": ["李的平板"], "wang": ["王芳的平板"]}
        assert "别处的平板" not in page.text and "zhao" not in page.text
        assert page.rows["李的平板"]["data-silent"] == "yes"
        assert page.rows["王芳的平板"]["data-silent"] == "no"
        assert "3 天以上未同步" in page.text and "2026-01-06 04:30" in page.text
        assert "1.4.2" in page.text and 'id="nav-devices"' in page.text

        # Enroll: the code and its QR code are on the page; the code works once.
        cookie, csrf = form_post(w.zhang)
        enrolled = await harness.client.post(
            "/console/devices/enroll",
            data={"csrf_token": csrf, "account_id": w.wang.account_id, "device_name": "二号平板"},
            headers=cookie,
        )
        assert enrolled.status_code == 200, enrolled.text
        assert enrolled.headers["cache-control"] == "no-store"
        found = re.search(r'id="enroll-code">([^<]+)<', enrolled.text)
        assert found is not None
        code = found.group(1)
        assert "<svg" in enrolled.text and "二号平板" in enrolled.text
        device = await harness.services.access.devices.redeem(code, None, None)
        assert device.account_id == w.wang.account_id
        with pytest.raises(ClientError, match="invalid_enrollment_code"):
            await harness.services.access.devices.redeem(code, None, None)
        assert (await shown(harness, w.zhang)).accounts["wang"] == ["王芳的平板", "二号平板"]

        blank = await harness.client.post(
            "/console/devices/enroll",
            data={"csrf_token": csrf, "account_id": w.wang.account_id, "device_name": "  "},
            headers=cookie,
        )
        assert blank.status_code == 400 and 'id="enroll-error"' in blank.text
        assert 'id="enroll-code"' not in blank.text

        # Another community's worker is absent: no enrollment, no revocation.
        elsewhere = await harness.client.post(
            "/console/devices/enroll",
            data={"csrf_token": csrf, "account_id": "nobody-here", "device_name": "x"},
            headers=cookie,
        )
        assert elsewhere.status_code == 404 and "<html" in elsewhere.text
        refused = await harness.client.post(
            f"/console/devices/{w.zhao_device}/revoke", data={"csrf_token": csrf}, headers=cookie
        )
        assert refused.status_code == 404
        assert await sync_status(harness, w.zhao_token) != 401

        # Revoke: the tablet's next request is refused, and the page says it is revoked.
        assert await sync_status(harness, w.wang_token) != 401
        revoked = await harness.client.post(
            f"/console/devices/{w.wang_device}/revoke", data={"csrf_token": csrf}, headers=cookie
        )
        assert revoked.status_code == 303
        assert revoked.headers["location"].startswith("/console/devices?done=revoked")
        assert await sync_status(harness, w.wang_token) == 401
        after = await shown(harness, w.zhang)
        assert after.rows["王芳的平板"]["data-revoked"] == "yes"
        assert after.rows["二号平板"]["data-revoked"] == "no"

        async with harness.services.database.connect() as connection:
            actions = (
                await connection.scalars(
                    sa.select(audit_log.c.action).where(audit_log.c.username == "zhang")
                )
            ).all()
        assert "device.enrollment_started" in actions and "device.revoked" in actions
        # Looking at the page is on the record too, naming whom it showed.
        async with harness.services.database.connect() as connection:
            listed = (
                await connection.scalars(
                    sa.select(audit_log.c.detail).where(
                        audit_log.c.username == "zhang", audit_log.c.action == "devices.listed"
                    )
                )
            ).all()
        assert listed and all(len(detail["accounts"]) == 2 for detail in listed)
        assert all(w.wang.account_id in detail["accounts"] for detail in listed)


async def test_other_roles_are_turned_away_and_an_admin_sees_everyone(database_url: str) -> None:
    async with running_app(database_url) as harness:
        w = await world(harness)
        member = await session_headers(harness, w.wang)
        forbidden = await harness.client.get("/console/devices", headers=member)
        assert forbidden.status_code == 403 and "<html" in forbidden.text
        assert "王芳的平板" not in forbidden.text
        visits = await harness.client.get("/console/visits", headers=member)
        assert visits.status_code == 200 and 'id="nav-devices"' not in visits.text
        cookie, csrf = form_post(member)
        refused = await harness.client.post(
            f"/console/devices/{w.wang_device}/revoke", data={"csrf_token": csrf}, headers=cookie
        )
        assert refused.status_code == 403

        # A coordinator's post without the CSRF token is refused, and changes nothing.
        cookie, _ = form_post(w.zhang)
        no_token = await harness.client.post(
            f"/console/devices/{w.wang_device}/revoke", data={}, headers=cookie
        )
        assert no_token.status_code == 403
        no_token = await harness.client.post(
            "/console/devices/enroll",
            data={"account_id": w.wang.account_id, "device_name": "x"},
            headers=cookie,
        )
        assert no_token.status_code == 403
        assert await sync_status(harness, w.wang_token) != 401

        admin = await person(harness, Role.ADMIN, [], "root")
        page = await shown(harness, await session_headers(harness, admin))
        assert set(page.accounts) == {"zhang", "wang", "li", "zhao", "root"}
        assert page.accounts["zhao"] == ["别处的平板"]

        anonymous = await harness.client.get("/console/devices")
        assert (anonymous.status_code, anonymous.headers["location"]) == (303, "/console/login")
        assert SESSION_COOKIE not in anonymous.headers.get("set-cookie", "")
