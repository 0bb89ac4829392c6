"""The console's list and record pages beyond reading: saved views (private to their
account, checked when saved and when opened), approving ticked records at once through the
console's forms, a household's page with its visits, and the device of each field write."""

import re
import uuid
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
import sqlalchemy as sa
from pycrdt import Array, Doc, Map

from server.db.access_tables import audit_log
from server.db.console_tables import saved_views
from server.db.record_tables import field_history, visits

from .harness import Harness, running_app, session_headers
from .test_projection import settled
from .test_search import shown, world

Headers = dict[str, str]


@pytest.fixture
async def setup(database_url: str, tmp_path: Path) -> Any:
    async with running_app(database_url) as harness:
        w = await world(harness, tmp_path)
        try:
            yield harness, w
        finally:
            for tablet, _ in w.tablets.values():
                await tablet.close()


def form_post(headers: Headers) -> tuple[Headers, str]:
    """A browser's form post: the cookie, and the CSRF token as a field."""
    return {"Cookie": headers["Cookie"]}, headers["X-CSRF-Token"]


def view_links(page: str) -> dict[str, str]:
    """Saved view name → its id, as the list page links them."""
    links = re.findall(r'href="/console/views/([^"]+)" class="open-view">([^<]+)<', page)
    return {name: view_id for view_id, name in links}


async def list_page(harness: Harness, headers: Headers, kind: str, **params: str) -> str:
    response = await harness.client.get(f"/console/{kind}", params=params, headers=headers)
    assert response.status_code == 200, response.text
    return response.text


async def test_saved_views_are_private_and_checked_when_saved_and_opened(setup: Any) -> None:
    harness, w = setup
    zhang, zhao = await session_headers(harness, w.zhang), await session_headers(harness, w.zhao)
    cookie, csrf = form_post(zhang)

    # Saved with the page token, blanks and junk in the address: only the filters are kept.
    query = "purpose=care_visit&q=独居&grid=&after=abc&approved=3&bogus=1"
    saved = await harness.client.post(
        "/console/visits/views",
        data={"csrf_token": csrf, "name": "独居老人关爱", "query": query},
        headers=cookie,
    )
    assert saved.status_code == 303
    target = urlsplit(saved.headers["location"])
    assert target.path == "/console/visits"
    assert parse_qs(target.query) == {"purpose": ["care_visit"], "q": ["独居"]}
    page = await list_page(harness, zhang, "visits")
    view_id = view_links(page)["独居老人关爱"]
    opened = await harness.client.get(f"/console/views/{view_id}", headers=zhang)
    assert opened.status_code == 303 and opened.headers["location"] == saved.headers["location"]
    followed = await list_page(harness, zhang, "visits", purpose="care_visit", q="独居")
    assert shown(followed, [w.lonely, w.literal, w.other_lonely]) == {w.lonely}
    assert "独居老人关爱" not in await list_page(harness, zhang, "cases")  # per list

    # Another account neither sees, opens nor deletes it.
    assert "独居老人关爱" not in await list_page(harness, zhao, "visits")
    assert (await harness.client.get(f"/console/views/{view_id}", headers=zhao)).status_code == 404
    other_cookie, other_csrf = form_post(zhao)
    refused = await harness.client.post(
        f"/console/views/{view_id}/delete", data={"csrf_token": other_csrf}, headers=other_cookie
    )
    assert refused.status_code == 404
    # Without the CSRF token nothing is saved or deleted.
    no_csrf = await harness.client.post(
        "/console/visits/views", data={"name": "x", "query": ""}, headers=cookie
    )
    assert no_csrf.status_code == 403

    # Checked when saved: a bad date, an unknown code, another community's grid.
    for bad in ("since=2026-13-45", "purpose=no_such_purpose", "grid=G3", "has_issues=maybe"):
        response = await harness.client.post(
            "/console/visits/views",
            data={"csrf_token": csrf, "name": "坏的", "query": bad},
            headers=cookie,
        )
        assert response.status_code == 400 and "<html" in response.text, bad
    assert "坏的" not in await list_page(harness, zhang, "visits")

    # Checked again when opened: a view that no longer makes sense is an error page naming it.
    broken = str(uuid.uuid4())
    async with harness.services.database.begin() as connection:
        await connection.execute(
            saved_views.insert().values(
                id=broken,
                account_id=w.zhang.account_id,
                kind="visits",
                name="旧的视图",
                query="since=yesterday",
            )
        )
    opened = await harness.client.get(f"/console/views/{broken}", headers=zhang)
    assert opened.status_code == 400 and "旧的视图" in opened.text and "since" in opened.text

    # Deleted by its owner: gone from the list.
    deleted = await harness.client.post(
        f"/console/views/{view_id}/delete", data={"csrf_token": csrf}, headers=cookie
    )
    assert deleted.status_code == 303
    assert "独居老人关爱" not in await list_page(harness, zhang, "visits")


async def test_bulk_approve_from_the_list(setup: Any) -> None:
    harness, w = setup
    zhang = await session_headers(harness, w.zhang)
    page = await list_page(harness, zhang, "visits")
    assert 'id="approve-selected"' in page and f'name="doc" value="{w.lonely}"' in page
    cookie, csrf = form_post(zhang)
    ticked = [w.lonely, w.literal, w.other_lonely]  # the last is another community's
    response = await harness.client.post(
        "/console/visits/approve",
        data={"csrf_token": csrf, "doc": ticked, "back": "purpose=care_visit"},
        headers=cookie,
    )
    assert response.status_code == 303
    target = urlsplit(response.headers["location"])
    assert parse_qs(target.query) == {
        "purpose": ["care_visit"],
        "approved": ["2"],
        "skipped": ["1"],
    }
    after = await harness.client.get(f"{target.path}?{target.query}", headers=zhang)
    assert "已审核通过 2 条，跳过 1 条" in after.text
    assert shown(after.text, [w.lonely, w.literal]) == {w.lonely}  # the filters kept
    await settled(harness)
    async with harness.services.database.connect() as connection:
        states = dict(
            (await connection.execute(sa.select(visits.c.doc_id, visits.c.review_state))).all()
        )
        reviewed = (
            await connection.execute(
                sa.select(audit_log.c.target, audit_log.c.outcome).where(
                    audit_log.c.action == "record.reviewed"
                )
            )
        ).all()
    assert states[w.lonely] == states[w.literal] == "approved"
    assert states[w.other_lonely] is None
    assert sorted(reviewed) == sorted(
        [(w.lonely, "ok"), (w.literal, "ok"), (w.other_lonely, "not_found")]
    )
    # The grid member's tablet sees the decision at its next sync.
    tablet, _ = w.tablets["wang"]
    await tablet.sync()
    assert tablet.record(w.lonely).review["state"] == "approved"

    # A role that does not review sees no boxes and may not post.
    member = await session_headers(harness, w.wang)
    assert 'id="approve-selected"' not in await list_page(harness, member, "visits")
    member_cookie, member_csrf = form_post(member)
    refused = await harness.client.post(
        "/console/visits/approve",
        data={"csrf_token": member_csrf, "doc": [w.lonely]},
        headers=member_cookie,
    )
    assert refused.status_code == 403
    nothing = await harness.client.post(
        "/console/visits/approve", data={"csrf_token": csrf}, headers=cookie
    )
    assert nothing.status_code == 400


async def test_a_household_page_lists_its_visits(setup: Any) -> None:
    harness, w = setup
    zhang = await session_headers(harness, w.zhang)
    page = await harness.client.get(f"/console/households/{w.home}", headers=zhang)
    assert page.status_code == 200
    section = page.text.split('id="household-visits"')[1].split("</section>")[0]
    assert shown(section, [w.lonely, w.literal, w.other_lonely]) == {w.lonely, w.literal}
    assert f'href="/console/visits/{w.lonely}"' in section
    assert f'href="/console/visits?household={w.home}"' in section
    assert "矛盾纠纷记录不关联住户" in section
    listed = await list_page(harness, zhang, "visits", household=w.home)
    assert shown(listed, [w.lonely, w.literal, w.other_lonely]) == {w.lonely, w.literal}
    # Another community's household is not found, its visits not shown.
    zhao = await session_headers(harness, w.zhao)
    elsewhere = await harness.client.get(f"/console/households/{w.home}", headers=zhao)
    assert elsewhere.status_code == 404 and w.lonely not in elsewhere.text


async def test_the_field_history_names_the_device_of_each_write(setup: Any, tmp_path: Path) -> None:
    harness, w = setup
    zhang = await session_headers(harness, w.zhang)
    tablet, device_id = w.tablets["wang"]
    tablet.record(w.lonely).set("findings", "已联系助餐点")
    await tablet.sync()

    # A stock Yjs app names no device; another claims an id the server never gave out.
    stock: Doc[Any] = Doc()
    stock_id = str(uuid.uuid4())
    entry = {"by": "yjs", "at": "2026-11-23T09:00:00+08:00", "prev": []}
    with stock.transaction():
        stock.get("meta", type=Map).update({"kind": "visit", "grid": "G1"})
        stock.get("fields", type=Map).update({"household": w.home, "findings": "x"})
        log = stock.get("log", type=Array)
        log.append({**entry, "id": "a", "f": "household", "v": w.home})
        log.append({**entry, "id": "b", "f": "findings", "v": "x", "device": "not-ours-1234"})
    token = await harness.token("G1", "yjs")
    pushed = await harness.client.post(
        f"/docs/{stock_id}/update",
        content=stock.get_update(),
        headers={"Authorization": f"Bearer {token}"},
    )
    assert pushed.status_code == 200, pushed.text
    await settled(harness)

    async with harness.services.database.connect() as connection:
        devices_of = (
            (
                await connection.execute(
                    sa.select(field_history.c.device)
                    .where(field_history.c.doc_id == w.lonely)
                    .order_by(field_history.c.position)
                )
            )
            .scalars()
            .all()
        )
    assert devices_of and set(devices_of) == {device_id}

    page = await harness.client.get(f"/console/visits/{w.lonely}", headers=zhang)
    history = page.text.split('id="history"')[1].split("</section>")[0]
    assert history.count("王芳的平板") == len(devices_of)
    assert f'data-device="{device_id}"' in history

    page = await harness.client.get(f"/console/visits/{stock_id}", headers=zhang)
    history = page.text.split('id="history"')[1].split("</section>")[0]
    assert '<td class="device" data-device="">—</td>' in history
    assert "未知设备 not-ours" in history
