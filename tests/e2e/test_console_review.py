"""Reviewing in a real headless Chromium against a real `doorstep serve`, with SDK tablets:
a coordinator sends a visit back with a comment, the grid member's tablet sees it, fixes it
offline and syncs, the console shows it as edited, the coordinator approves it; then two
conflicts made by two tablets are settled, one by choosing a value and one by typing; the
list, searched and filtered, is exported as CSV, masked; the field history names the tablet
that wrote each value."""

import asyncio
import csv
import io
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from selenium.common.exceptions import StaleElementReferenceException, WebDriverException
from selenium.webdriver.common.by import By
from selenium.webdriver.support.ui import Select, WebDriverWait

from server.db.engine import make_engine
from server.db.record_tables import conflicts, visits
from tablet import Tablet

from .browser import (
    MASKED_PHONE,
    PHONE,
    Street,
    audit_actions,
    browser,  # noqa: F401 (a fixture)
    downloaded,
    downloads,  # noqa: F401 (a fixture)
    screenshot,
    seed_street,
)
from .conftest import ServerProcess
from .test_console import WAIT, listed, log_in, text

pytestmark = [pytest.mark.slow, pytest.mark.timeout(180)]
COMMENT = "补充住户电话"
FIXED = "独居老人，身体尚可，住户电话 13900001111"


def sql(database_url: str, query: Any) -> list[Any]:
    async def run() -> list[Any]:
        engine = make_engine(database_url)
        try:
            async with engine.connect() as connection:
                return list((await connection.execute(query)).all())
        finally:
            await engine.dispose()

    return asyncio.run(run())


def visit_row(database_url: str, doc_id: str) -> Any:
    columns = (visits.c.review_state, visits.c.findings, visits.c.has_conflict)
    [row] = sql(database_url, sa.select(*columns).where(visits.c.doc_id == doc_id))
    return row


def conflict_states(database_url: str, doc_id: str) -> list[str]:
    query = sa.select(conflicts.c.status).where(conflicts.c.doc_id == doc_id)
    return sorted(row.status for row in sql(database_url, query))


def reload_until(driver: Any, css: str, wanted: str) -> None:
    """The tablet's push is projected shortly after its sync: reload until it shows."""

    def shows(d: Any) -> bool:
        d.refresh()
        return wanted in d.find_element(By.CSS_SELECTOR, css).text

    WebDriverWait(driver, WAIT, poll_frequency=0.3).until(shows)


def tablet(workdir: Path, url: str, name: str) -> Tablet:
    """The grid member's own tablet again: its local store keeps the device token."""
    return Tablet(workdir / f"{name}.sqlite3", url, author=name)


def click_and_load(driver: Any, element: Any) -> None:
    """Click, then wait for the next page: reading before it would read the old one."""
    page = driver.find_element(By.TAG_NAME, "html")
    element.click()
    WebDriverWait(driver, WAIT).until(lambda _: _gone(page))


def _gone(element: Any) -> bool:
    """The element left the page. Chrome may answer a question about an element of a page
    being replaced with a generic error ("Node ... does not belong to the document")
    instead of a stale-element one: both mean the old page is going."""
    try:
        element.is_enabled()
    except WebDriverException:  # StaleElementReferenceException is one
        return True
    return False


def submit(driver: Any, css: str) -> None:
    click_and_load(driver, driver.find_element(By.CSS_SELECTOR, css))


async def edit_offline_and_sync(workdir: Path, url: str, doc_id: str) -> dict[str, Any]:
    """王芳's tablet pulls the decision, is fixed offline, syncs; what it saw."""
    wang = tablet(workdir, url, "王芳")
    try:
        await wang.sync()
        record = wang.record(doc_id)
        pulled = {"review": dict(record.review), "notes": [n.get("text") for n in record.notes]}
        record.set("findings", FIXED)
        await wang.sync()
        return pulled
    finally:
        await wang.close()


async def review_on_tablet(workdir: Path, url: str, doc_id: str) -> str:
    wang = tablet(workdir, url, "王芳")
    try:
        await wang.sync()
        return str(wang.record(doc_id).review.get("state"))
    finally:
        await wang.close()


async def second_conflict(workdir: Path, url: str, doc_id: str) -> None:
    """王芳 and 刘洋 change one visit's findings offline, then both sync."""
    wang, liu = tablet(workdir, url, "王芳"), tablet(workdir, url, "刘洋")
    try:
        await liu.sync()
        wang.record(doc_id).set("findings", "需要联系女儿")
        liu.record(doc_id).set("findings", "需要联系儿子")
        for each in (wang, liu, wang):
            await each.sync()
    finally:
        await wang.close()
        await liu.close()


def filter_list(driver: Any, search: str, **selects: str) -> None:
    """Search and filter a list page; htmx swaps the table (rows may go stale while read)."""
    box = driver.find_element(By.ID, "search")
    box.clear()
    box.send_keys(search)
    for name, value in selects.items():
        Select(driver.find_element(By.NAME, name)).select_by_value(value)
    driver.find_element(By.ID, "apply-filters").click()


def exported_rows(driver: Any, folder: Path) -> list[dict[str, str]]:
    """Click the list's "export CSV" and read the file the browser saved (UTF-8 with a BOM)."""
    driver.find_element(By.ID, "export-csv").click()
    path = downloaded(folder, ".csv")
    rows = list(csv.DictReader(io.StringIO(path.read_text(encoding="utf-8-sig"))))
    path.unlink()  # the next export is the only .csv then
    return rows


def test_send_back_edit_approve_and_resolve(
    browser: Any,  # noqa: F811
    downloads: Path,  # noqa: F811
    server: ServerProcess,
    database_url: str,
    tmp_path: Path,
) -> None:
    street: Street = seed_street(database_url, server.url, tmp_path)
    base, db = server.url, database_url.partition("+")[0]
    visit = street.visits_a[0]

    # Find the visit in the list and open it: not reviewed yet.
    log_in(browser, base, "coord_a")
    WebDriverWait(browser, WAIT).until(lambda d: "/console/visits" in d.current_url)
    click_and_load(browser, browser.find_element(By.CSS_SELECTOR, f"tr[data-doc='{visit}'] a"))
    assert text(browser, "#review-state") == "待审核"
    screenshot(browser, f"{db}-review-01-not-reviewed")

    # A blank comment (spaces get past `required`) is refused on the page; nothing written.
    browser.find_element(By.ID, "send-back-comment").send_keys("   ")
    submit(browser, "#send-back")
    assert text(browser, "#review-error") == "退回时请写明需要补充或修改的内容"
    assert visit_row(database_url, visit).review_state is None
    screenshot(browser, f"{db}-review-02-comment-required")

    # Sent back with a comment: the state and the note on the page and in the database.
    browser.find_element(By.ID, "send-back-comment").send_keys(COMMENT)
    submit(browser, "#send-back")
    assert text(browser, "#review-state") == "已退回"
    assert "已保存：退回修改" in text(browser, "#review-done")
    note = text(browser, "#notes li.review-note[data-action='send_back']")
    assert COMMENT in note and "审核: 退回修改" in note and "coord_a" in note
    assert visit_row(database_url, visit).review_state == "sent_back"
    screenshot(browser, f"{db}-review-03-sent-back")

    # The grid member's tablet sees it, is fixed offline and syncs: "edited" in the console.
    pulled = asyncio.run(edit_offline_and_sync(tmp_path, server.url, visit))
    assert pulled["review"]["state"] == "sent_back" and pulled["review"]["comment"] == COMMENT
    assert COMMENT in pulled["notes"]
    reload_until(browser, "#review-state", "已修改待复核")
    assert FIXED in text(browser, "#fields")
    assert visit_row(database_url, visit)[:2] == ("edited", FIXED)
    screenshot(browser, f"{db}-review-04-edited")

    # Approved: on the page, in the database, and on the tablet at its next sync.
    submit(browser, "#approve")
    assert text(browser, "#review-state") == "已通过"
    assert visit_row(database_url, visit).review_state == "approved"
    assert asyncio.run(review_on_tablet(tmp_path, server.url, visit)) == "approved"
    screenshot(browser, f"{db}-review-05-approved")

    # The conflict two tablets made: choose 刘洋's value.
    conflicted = street.conflicted_visit
    browser.get(f"{base}/console/visits/{conflicted}")
    side = browser.find_element(
        By.XPATH, "//div[@class='side'][.//div[@class='value' and text()='杂物已清理完毕']]"
    )
    assert "刘洋" in side.text
    click_and_load(browser, side.find_element(By.CSS_SELECTOR, "button.use-value"))
    assert text(browser, "#review-done") == "冲突已解决"
    assert text(browser, "#conflicts .empty") == "无"
    assert "杂物已清理完毕" in text(browser, "#fields [data-field='findings']")
    row = visit_row(database_url, conflicted)
    assert (row.findings, row.has_conflict) == ("杂物已清理完毕", False)
    assert conflict_states(database_url, conflicted) == ["resolved"]
    screenshot(browser, f"{db}-review-06-conflict-chosen")

    # A second conflict, settled by typing a new value.
    other = street.visits_a[2]
    asyncio.run(second_conflict(tmp_path, server.url, other))
    browser.get(f"{base}/console/visits/{other}")
    reload_until(browser, "#conflicts", "需要联系儿子")
    typed = browser.find_element(By.CSS_SELECTOR, "form.typed input[name='value']")
    typed.send_keys("需要联系子女")
    submit(browser, "form.typed button")
    assert text(browser, "#review-done") == "冲突已解决"
    assert visit_row(database_url, other)[1:] == ("需要联系子女", False)
    assert conflict_states(database_url, other) == ["resolved"]
    screenshot(browser, f"{db}-review-07-conflict-typed")

    audit = [a for a in audit_actions(database_url, "coord_a") if a[0] != "record.viewed"]
    assert ("record.reviewed", "refused", visit) in audit
    assert [a for a in audit if a[0] == "record.reviewed" and a[1] == "ok"] == [
        ("record.reviewed", "ok", visit),
        ("record.reviewed", "ok", visit),
    ]
    assert ("conflict.resolved", "ok", conflicted) in audit
    assert ("conflict.resolved", "ok", other) in audit

    # The history says which tablet wrote each value.
    browser.get(f"{base}/console/visits/{visit}")
    history = text(browser, "#history")
    assert "王芳的平板" in history
    fixed_row = browser.find_element(
        By.XPATH, f"//section[@id='history']//tr[td[@data-field='findings' and text()='{FIXED}']]"
    )
    assert fixed_row.find_element(By.CSS_SELECTOR, "td.device").text == "王芳的平板"
    browser.execute_script("document.getElementById('history').scrollIntoView()")
    screenshot(browser, f"{db}-review-08-history-device")

    # The approved visit, found by searching and filtering the list, exported as CSV.
    browser.get(f"{base}/console/visits")
    filter_list(browser, "独居", review="approved")
    swapping = WebDriverWait(browser, WAIT, ignored_exceptions=[StaleElementReferenceException])
    swapping.until(lambda d: listed(d) == [visit])
    assert "q=" in browser.current_url and "review=approved" in browser.current_url
    screenshot(browser, f"{db}-review-09-export-filtered")
    rows = exported_rows(browser, downloads)
    assert [row["编号"] for row in rows] == [visit]
    assert (rows[0]["审核状态"], rows[0]["走访情况"]) == ("已通过", FIXED)

    # The household list searched by its address: its phone number masked in the file.
    browser.get(f"{base}/console/households")
    filter_list(browser, "幸福里 501")
    swapping.until(lambda d: listed(d) == [street.household_a])
    screenshot(browser, f"{db}-review-10-export-households")
    rows = exported_rows(browser, downloads)
    assert [(row["编号"], row["电话"]) for row in rows] == [(street.household_a, MASKED_PHONE)]
    assert all(PHONE not in value for row in rows for value in row.values())
    assert [a[0] for a in audit_actions(database_url, "coord_a")].count("records.exported") == 2
