"""The coordinator console in a real headless Chromium, against a real `doorstep serve` with
field work synced by SDK tablets: log in (zh-CN), list and filter visits, open one, switch
to English, see phone numbers masked, never see another community's records, log out;
search, save the search as a view and open it again, approve ticked visits at once, and see
a household's visits on its page."""

from pathlib import Path
from typing import Any

import pytest
from selenium.common.exceptions import StaleElementReferenceException
from selenium.webdriver.common.by import By
from selenium.webdriver.support import expected_conditions as seen
from selenium.webdriver.support.ui import Select, WebDriverWait

from schemas.enums import VisitPurpose

from .browser import (
    MASKED_PHONE,
    PASSWORD,
    PHONE,
    Street,
    audit_actions,
    browser,  # noqa: F401 (a fixture)
    screenshot,
    seed_street,
)
from .conftest import ServerProcess

CARE = VisitPurpose.CARE_VISIT.label  # 关爱探访
pytestmark = [pytest.mark.slow, pytest.mark.timeout(120)]
WAIT = 10


def text(driver: Any, css: str) -> str:
    return str(
        WebDriverWait(driver, WAIT)
        .until(seen.visibility_of_element_located((By.CSS_SELECTOR, css)))
        .text
    )


def listed(driver: Any) -> list[str]:
    """The doc ids of the rows in the records table (read at once: htmx may be swapping)."""
    rows: list[str] = driver.execute_script(
        "return [...document.querySelectorAll('#records tbody tr[data-doc]')]"
        ".map(row => row.dataset.doc)"
    )
    return rows


def log_in(driver: Any, base: str, username: str, password: str = PASSWORD) -> None:
    driver.get(f"{base}/console/login")
    driver.find_element(By.NAME, "username").send_keys(username)
    driver.find_element(By.NAME, "password").send_keys(password)
    driver.find_element(By.CSS_SELECTOR, "#login-form button").click()


def test_coordinator_reads_visits_in_the_browser(
    browser: Any,  # noqa: F811
    server: ServerProcess,
    database_url: str,
    tmp_path: Path,
) -> None:
    street: Street = seed_street(database_url, server.url, tmp_path)
    base, db = server.url, database_url.partition("+")[0]

    # Not logged in: sent to the login page; a wrong password is told in Chinese.
    browser.get(f"{base}/console/visits")
    WebDriverWait(browser, WAIT).until(seen.url_contains("/console/login"))
    log_in(browser, base, "coord_a", "wrong-password-123")
    assert text(browser, "#login-error") == "用户名或密码错误"
    screenshot(browser, f"{db}-01-login-failed")

    log_in(browser, base, "coord_a")
    WebDriverWait(browser, WAIT).until(seen.url_contains("/console/visits"))
    assert text(browser, "h1") == "走访记录"
    assert "社区工作人员" in text(browser, "#me")
    assert sorted(listed(browser)) == sorted(street.visits_a)  # not community B's
    assert CARE in browser.find_element(By.ID, "records").text  # purpose as its label
    screenshot(browser, f"{db}-02-visits")

    # Filter by purpose: htmx swaps the table and keeps the filter in the address.
    Select(browser.find_element(By.NAME, "purpose")).select_by_value("care_visit")
    browser.find_element(By.ID, "apply-filters").click()
    # Rows read while htmx swaps the table may go stale under the reader: read again.
    swapping = WebDriverWait(browser, WAIT, ignored_exceptions=[StaleElementReferenceException])
    swapping.until(lambda d: len(listed(d)) == 2)
    assert "purpose=care_visit" in browser.current_url
    care = {street.visits_a[0], street.visits_a[2]}
    assert set(listed(browser)) == care
    Select(browser.find_element(By.NAME, "has_conflict")).select_by_value("yes")
    Select(browser.find_element(By.NAME, "purpose")).select_by_value("")
    browser.find_element(By.ID, "apply-filters").click()
    swapping.until(lambda d: listed(d) == [street.conflicted_visit])
    screenshot(browser, f"{db}-03-visits-filtered")

    # The conflicted visit: both values side by side, with their authors; its history.
    browser.find_element(By.CSS_SELECTOR, f"tr[data-doc='{street.conflicted_visit}'] a").click()
    WebDriverWait(browser, WAIT).until(seen.url_contains(street.conflicted_visit))
    conflicts = text(browser, "#conflicts")
    assert "杂物未清理，已约物业" in conflicts and "杂物已清理完毕" in conflicts
    assert "王芳" in conflicts and "刘洋" in conflicts
    assert "楼道杂物已清理" in text(browser, "#history")
    screenshot(browser, f"{db}-04-visit-conflict")

    # A visit with a note, then the same page in English; the choice is remembered.
    browser.get(f"{base}/console/visits/{street.visits_a[0]}")
    assert "老人说下周去医院复查" in text(browser, "#notes")
    assert CARE in text(browser, "#fields")
    browser.find_element(By.ID, "lang-switch").click()
    WebDriverWait(browser, WAIT).until(
        lambda d: d.find_element(By.ID, "notes").text.startswith("Notes")
    )
    assert "Care visit" in text(browser, "#fields")
    screenshot(browser, f"{db}-05-visit-english")

    # Households in English: the phone number masked.
    browser.get(f"{base}/console/households")
    assert text(browser, "h1") == "Households"
    table = text(browser, "#records")
    assert MASKED_PHONE in table and PHONE not in table
    browser.get(f"{base}/console/households/{street.household_a}")
    assert MASKED_PHONE in text(browser, "#fields")
    assert PHONE not in browser.page_source
    screenshot(browser, f"{db}-06-household-masked")

    # Community B's visit: not listed even when asked for its grid, and 404 by URL.
    browser.get(f"{base}/console/visits?grid=GB1")
    assert listed(browser) == []
    browser.get(f"{base}/console/visits/{street.visit_b}")
    assert text(browser, "#error h1") == "No such record in your area"
    screenshot(browser, f"{db}-07-other-community-404")

    # A tablet-width window still shows the list and its filters.
    browser.set_window_size(768, 1024)
    browser.get(f"{base}/console/visits")
    assert len(listed(browser)) == 3 and browser.find_element(By.ID, "filters").is_displayed()
    screenshot(browser, f"{db}-08-visits-tablet")

    browser.find_element(By.ID, "logout").click()
    WebDriverWait(browser, WAIT).until(seen.url_contains("/console/login"))
    browser.get(f"{base}/console/visits")
    WebDriverWait(browser, WAIT).until(seen.url_contains("/console/login"))

    audit = audit_actions(database_url, "coord_a")
    assert ("record.viewed", "ok", street.conflicted_visit) in audit
    assert ("record.viewed", "not_found", street.visit_b) in audit
    assert [a for a in audit if a[0] == "records.listed"]
    assert audit[-1][0] == "logout"


def test_the_other_community_and_an_admin(
    browser: Any,  # noqa: F811
    server: ServerProcess,
    database_url: str,
    tmp_path: Path,
) -> None:
    street = seed_street(database_url, server.url, tmp_path)
    db = database_url.partition("+")[0]
    log_in(browser, server.url, "coord_b")
    WebDriverWait(browser, WAIT).until(seen.url_contains("/console/visits"))
    assert listed(browser) == [street.visit_b]
    browser.get(f"{server.url}/console/visits/{street.visits_a[0]}")
    assert text(browser, "#error h1") == "记录不存在，或不在您的管辖范围内"

    browser.find_element(By.ID, "logout").click()
    log_in(browser, server.url, "admin")
    assert text(browser, "#error h1") == "您的角色无权查看记录"
    screenshot(browser, f"{db}-09-admin-forbidden")


def test_search_saved_views_bulk_approve_and_a_household(
    browser: Any,  # noqa: F811
    server: ServerProcess,
    database_url: str,
    tmp_path: Path,
) -> None:
    street = seed_street(database_url, server.url, tmp_path)
    base, db = server.url, database_url.partition("+")[0]
    log_in(browser, base, "coord_a")
    WebDriverWait(browser, WAIT).until(seen.url_contains("/console/visits"))
    swapping = WebDriverWait(browser, WAIT, ignored_exceptions=[StaleElementReferenceException])

    # Search: the visits of the household at 幸福里 501 whose findings mention 家属.
    browser.find_element(By.ID, "search").send_keys("幸福里 家属")
    browser.find_element(By.ID, "apply-filters").click()
    swapping.until(lambda d: listed(d) == [street.visits_a[2]])
    assert "q=" in browser.current_url

    # Saved under a name, listed as a link; opened again from a cleared list.
    browser.find_element(By.ID, "view-name").send_keys("需要联系家属")
    browser.find_element(By.ID, "save-view").click()
    WebDriverWait(browser, WAIT).until(seen.element_to_be_clickable((By.LINK_TEXT, "需要联系家属")))
    screenshot(browser, f"{db}-10-saved-view")
    browser.get(f"{base}/console/visits")
    assert len(listed(browser)) == 3
    browser.find_element(By.LINK_TEXT, "需要联系家属").click()
    swapping.until(lambda d: listed(d) == [street.visits_a[2]])

    # Bulk approve: tick two visits, approve them at once.
    browser.get(f"{base}/console/visits")
    for doc_id in street.visits_a[:2]:
        browser.find_element(By.CSS_SELECTOR, f"tr[data-doc='{doc_id}'] input[name='doc']").click()
    browser.find_element(By.ID, "approve-selected").click()
    assert text(browser, "#bulk") == "已审核通过 2 条，跳过 0 条"
    states = {
        row.get_attribute("data-doc"): row.find_element(
            By.CSS_SELECTOR, "td[data-column='review_state']"
        ).text
        for row in browser.find_elements(By.CSS_SELECTOR, "#records tbody tr[data-doc]")
    }
    assert states == {
        street.visits_a[0]: "已通过",
        street.visits_a[1]: "已通过",
        street.visits_a[2]: "待审核",
    }
    screenshot(browser, f"{db}-11-bulk-approved")

    # The household's page lists its visits, each a link.
    browser.get(f"{base}/console/households/{street.household_a}")
    section = text(browser, "#household-visits")
    assert "矛盾纠纷记录不关联住户" in section
    shown = {
        row.get_attribute("data-doc")
        for row in browser.find_elements(By.CSS_SELECTOR, "#household-visits tr[data-doc]")
    }
    assert shown == set(street.visits_a)
    browser.execute_script("document.getElementById('household-visits').scrollIntoView()")
    screenshot(browser, f"{db}-12-household-visits")
    reviewed = [a for a in audit_actions(database_url, "coord_a") if a[0] == "record.reviewed"]
    assert sorted(reviewed) == sorted(("record.reviewed", "ok", v) for v in street.visits_a[:2])
