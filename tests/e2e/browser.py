"""A real headless Chromium (Debian's `chromium` and `chromium-driver`) driven by Selenium,
and a street with two communities' field work, synced by SDK tablets, for it to look at.

Nothing is downloaded: the browser and driver are the system's, named by path, and
Selenium Manager is kept offline.
"""

import asyncio
import os
import shutil
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa

from server.access.audit import SYSTEM
from server.access.authenticate import Access
from server.access.org import Level, Unit
from server.access.roles import Role
from server.access.sessions import LoginPolicy
from server.db.access_tables import audit_log
from server.db.engine import make_engine
from server.db.record_tables import visits
from tablet import Tablet

CHROMIUM = os.environ.get("DOORSTEP_CHROMIUM", "/usr/bin/chromium")
CHROMEDRIVER = os.environ.get("DOORSTEP_CHROMEDRIVER", "/usr/bin/chromedriver")
ARTIFACTS = Path(__file__).parent / "artifacts"
PASSWORD = "lamp-post-orchard-42"
PHONE = "13812345678"
MASKED_PHONE = "138****5678"


def browser_or_skip() -> None:
    """CI (DOORSTEP_REQUIRE_BROWSER=1) fails without a browser; elsewhere the test skips."""
    missing = [path for path in (CHROMIUM, CHROMEDRIVER) if not shutil.which(path)]
    if not missing:
        return
    reason = f"no {', '.join(missing)}: apt-get install chromium chromium-driver"
    if os.environ.get("DOORSTEP_REQUIRE_BROWSER"):
        pytest.fail(reason)
    pytest.skip(reason)


def chromium(width: int = 1280, height: int = 900, downloads: Path | None = None) -> Any:
    """Files the page downloads go to `downloads`, without asking."""
    os.environ.setdefault("SE_OFFLINE", "true")  # Selenium Manager: never fetch a driver
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for argument in (
        "--headless=new",
        "--no-sandbox",  # CI runs as root
        "--disable-dev-shm-usage",
        "--disable-gpu",
        f"--window-size={width},{height}",
        "--lang=zh-CN",
    ):
        options.add_argument(argument)
    if downloads is not None:
        prefs = {"download.default_directory": str(downloads)}
        options.add_experimental_option("prefs", {**prefs, "download.prompt_for_download": False})
    driver = webdriver.Chrome(service=Service(executable_path=CHROMEDRIVER), options=options)
    driver.implicitly_wait(0)
    if downloads is not None:  # headless Chrome heeds this rather than the preference
        behavior = {"behavior": "allow", "downloadPath": str(downloads)}
        driver.execute_cdp_cmd("Browser.setDownloadBehavior", behavior)
    return driver


def _downloads(tmp_path: Path) -> Path:
    path = tmp_path / "downloads"
    path.mkdir(exist_ok=True)
    return path


@pytest.fixture
def downloads(tmp_path: Path) -> Path:
    """Where the `browser` of the test saves downloaded files."""
    return _downloads(tmp_path)


def downloaded(folder: Path, suffix: str, timeout: float = 10) -> Path:
    """The one finished download ending with `suffix` (Chrome writes `.crdownload` first)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        done = [path for path in folder.iterdir() if path.name.endswith(suffix)]
        if done:
            return done[0]
        time.sleep(0.1)
    raise AssertionError(f"nothing ending with {suffix} downloaded: {list(folder.iterdir())}")


@pytest.fixture
def browser(tmp_path: Path) -> Iterator[Any]:
    browser_or_skip()
    driver = chromium(downloads=_downloads(tmp_path))
    try:
        yield driver
    finally:
        driver.quit()


def screenshot(driver: Any, name: str) -> Path:
    """Kept as a test artifact (tests/e2e/artifacts/, ignored by git)."""
    ARTIFACTS.mkdir(exist_ok=True)
    path = ARTIFACTS / f"{name}.png"
    driver.save_screenshot(str(path))
    return path


# --- The street ----------------------------------------------------------------------------

STREET = Unit("S1", "和平街道", Level.STREET)
UNITS = [
    STREET,
    Unit("CA", "幸福社区", Level.COMMUNITY, "S1"),
    Unit("GA1", "幸福一网格", Level.GRID, "CA"),
    Unit("CB", "光明社区", Level.COMMUNITY, "S1"),
    Unit("GB1", "光明一网格", Level.GRID, "CB"),
]


@dataclass
class Street:
    """What the tablets recorded, by community: the ids a test looks for."""

    household_a: str = ""
    visits_a: list[str] = field(default_factory=list)
    conflicted_visit: str = ""
    visit_b: str = ""


async def _people(access: Access) -> dict[str, tuple[str, str]]:
    """Coordinators of A and B and an admin (passwords), and grid members' device tokens
    and ids."""
    await access.org.put(UNITS, SYSTEM)
    for username, role, unit in (
        ("coord_a", Role.COORDINATOR, "CA"),
        ("coord_b", Role.COORDINATOR, "CB"),
        ("admin", Role.ADMIN, "S1"),
    ):
        await access.accounts.create(username, username, role, [unit], PASSWORD, SYSTEM)
    tokens = {}
    for name, grid in (("王芳", "GA1"), ("刘洋", "GA1"), ("李强", "GB1")):
        account = await access.accounts.create(name, name, Role.GRID_MEMBER, [grid], None, SYSTEM)
        device = await access.devices.add(account, f"{name}的平板", SYSTEM)
        tokens[name] = (device.token, device.id)
    return tokens


async def _field_work(url: str, tokens: dict[str, tuple[str, str]], workdir: Path) -> Street:
    street = Street()
    wang, liu, li = (_tablet(workdir, url, tokens, name) for name in ("王芳", "刘洋", "李强"))
    home = wang.new_record(
        "household",
        "GA1",
        {"compound": "幸福里小区", "building": "3幢", "room": "501", "phone": PHONE},
    )
    street.household_a = home.id
    for purpose, findings in (
        ("care_visit", "独居老人，身体尚可"),
        ("routine", "楼道杂物已清理"),
        ("care_visit", "需要联系家属"),
    ):
        visit = wang.new_record(
            "visit", "GA1", {"household": home.id, "purpose": purpose, "findings": findings}
        )
        street.visits_a.append(visit.id)
    wang.record(street.visits_a[0]).add_note("老人说下周去医院复查")
    other = li.new_record("household", "GB1", {"compound": "光明小区", "room": "101"})
    street.visit_b = li.new_record(
        "visit", "GB1", {"household": other.id, "purpose": "routine", "findings": "光明社区的走访"}
    ).id
    for tablet in (wang, li):
        await tablet.sync()
    # Two members change one visit offline: an open conflict on `findings`.
    street.conflicted_visit = street.visits_a[1]
    await liu.sync()
    wang.record(street.conflicted_visit).set("findings", "杂物未清理，已约物业")
    liu.record(street.conflicted_visit).set("findings", "杂物已清理完毕")
    for tablet in (wang, liu, wang):
        await tablet.sync()
    for tablet in (wang, liu, li):
        await tablet.close()
    return street


def _tablet(workdir: Path, url: str, tokens: dict[str, tuple[str, str]], name: str) -> Tablet:
    token, device_id = tokens[name]
    tablet = Tablet(workdir / f"{name}.sqlite3", url, token, author=name)
    tablet.store.save_token(token, device_id)  # as `Tablet.enroll` keeps it
    return tablet


async def _projected(database_url: str, count: int) -> None:
    engine = make_engine(database_url)
    try:
        for _ in range(300):
            async with engine.connect() as connection:
                seen = await connection.scalar(
                    sa.select(sa.func.count())
                    .select_from(visits)
                    .where(sa.or_(visits.c.has_conflict, visits.c.grid == "GB1"))
                )
                total = await connection.scalar(sa.select(sa.func.count()).select_from(visits))
            if seen == 2 and total == count:
                return
            await asyncio.sleep(0.05)
        raise AssertionError("the projection did not catch up")
    finally:
        await engine.dispose()


async def _seed(database_url: str, url: str, workdir: Path) -> Street:
    engine = make_engine(database_url)
    try:
        tokens = await _people(Access.build(engine, LoginPolicy()))
    finally:
        await engine.dispose()
    street = await _field_work(url, tokens, workdir)
    await _projected(database_url, len(street.visits_a) + 1)
    return street


def seed_street(database_url: str, url: str, workdir: Path) -> Street:
    """Accounts in the database, records synced to the server at `url`, projected."""
    return asyncio.run(_seed(database_url, url, workdir))


def audit_actions(database_url: str, username: str) -> list[tuple[str, str, str | None]]:
    """(action, outcome, target) of the audit rows of `username`, oldest first."""

    async def read() -> list[tuple[str, str, str | None]]:
        engine = make_engine(database_url)
        try:
            async with engine.connect() as connection:
                rows = await connection.execute(
                    sa.select(audit_log.c.action, audit_log.c.outcome, audit_log.c.target)
                    .where(audit_log.c.username == username)
                    .order_by(audit_log.c.id)
                )
                return [(row.action, row.outcome, row.target) for row in rows]
        finally:
            await engine.dispose()

    return asyncio.run(read())
