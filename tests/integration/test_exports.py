"""Exports: the filtered list as CSV and XLSX holds exactly the rows the list API pages
through, in the caller's grids only, masked unless revealed by someone with the right,
Chinese intact for Excel, and every export is audited."""

import csv
import io
from collections.abc import AsyncIterator
from datetime import date, datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import openpyxl
import pytest
import sqlalchemy as sa

from server.access.org import Level, Unit
from server.access.roles import Role
from server.db.access_tables import audit_log
from server.records import export_api

from .harness import (
    Harness,
    device_headers,
    machine_headers,
    org,
    person,
    running_app,
    session_headers,
)
from .test_projection import HOUSEHOLD, settled

SHANGHAI = ZoneInfo("Asia/Shanghai")
PHONE = "13812345678"
FINDINGS = ["老人独居，腿脚不便，需要送餐", '=HYPERLINK("http://x")', "燃气报警器已安装"]


async def seeded(harness: Harness, tmp_path: Path) -> None:
    """G1: a household and visits (three of them care visits); G2: a visit of its own."""
    await org(
        harness,
        Unit("S", "临平街道", Level.STREET),
        Unit("C", "东湖社区", Level.COMMUNITY, "S"),
        Unit("G1", "一网格", Level.GRID, "C"),
        Unit("G2", "二网格", Level.GRID, "C"),
    )
    wang, _ = await harness.tablet(tmp_path / "w.sqlite3", "G1", "王芳")
    li, _ = await harness.tablet(tmp_path / "l.sqlite3", "G2", "李强")
    home = wang.new_record("household", "G1", {**HOUSEHOLD, "head_name": "张三", "phone": PHONE})
    for findings in FINDINGS:
        wang.new_record(
            "visit", "G1", {"household": home.id, "purpose": "care_visit", "findings": findings}
        )
    wang.new_record("visit", "G1", {"household": home.id, "purpose": "routine", "findings": "日常"})
    li.new_record("visit", "G2", {"purpose": "care_visit", "findings": "二网格的走访"})
    for tablet in (wang, li):
        await tablet.sync()
        await tablet.close()
    await settled(harness)


@pytest.fixture
async def harness(database_url: str, tmp_path: Path) -> AsyncIterator[Harness]:
    async with running_app(database_url) as h:
        await seeded(h, tmp_path)
        yield h


async def api_rows(harness: Harness, headers: dict[str, str], kind: str, **filters: Any) -> Any:
    """The list API's rows for `filters`, walked page by page."""
    rows, after = [], None
    while True:
        params = {**filters, "limit": 2, **({"after": after} if after else {})}
        response = await harness.client.get(f"/api/{kind}", params=params, headers=headers)
        assert response.status_code == 200, response.text
        rows += response.json()["items"]
        if not (after := response.json()["next"]):
            return rows


async def exported(
    harness: Harness, headers: dict[str, str], path: str, **params: Any
) -> list[dict[str, str]]:
    """The export parsed back: one dict per row, keyed by the header; XLSX cells as text."""
    response = await harness.client.get(path, params=params, headers=headers)
    assert response.status_code == 200, response.text
    assert "attachment" in response.headers["content-disposition"]
    if params.get("format") == "xlsx":
        sheet = openpyxl.load_workbook(io.BytesIO(response.content)).active
        assert sheet is not None
        table = [[as_text(value) for value in row] for row in sheet.iter_rows(values_only=True)]
    else:
        assert response.content.startswith(b"\xef\xbb\xbf")  # the BOM Excel reads UTF-8 by
        table = list(csv.reader(io.StringIO(response.content.decode("utf-8-sig"))))
    return [dict(zip(table[0], row, strict=True)) for row in table[1:]]


def as_text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, datetime):
        return value.isoformat(sep=" ")
    if isinstance(value, date):
        return value.isoformat()
    return str(value)


def local(stamp: str) -> str:
    return datetime.fromisoformat(stamp).astimezone(SHANGHAI).strftime("%Y-%m-%d %H:%M:%S")


async def audit(harness: Harness) -> list[Any]:
    async with harness.services.database.connect() as connection:
        rows = await connection.execute(
            sa.select(audit_log)
            .where(audit_log.c.action == "records.exported")
            .order_by(audit_log.c.id)
        )
        return list(rows)


@pytest.mark.parametrize("format", ["csv", "xlsx"])
async def test_an_export_holds_exactly_the_listed_rows(harness: Harness, format: str) -> None:
    coordinator = await person(harness, Role.COORDINATOR, ["C"], "coordinator")
    headers = await device_headers(harness, coordinator)
    listed = await api_rows(harness, headers, "visits", purpose="care_visit")
    rows = await exported(
        harness, headers, "/api/visits/export", purpose="care_visit", format=format
    )

    assert [row["编号"] for row in rows] == [item["doc_id"] for item in listed]
    assert len(rows) == 4  # G1's three care visits and G2's: the coordinator sees both grids
    for row, item in zip(rows, listed, strict=True):
        assert row["网格"] == item["grid"] and row["走访目的"] == "关爱探访"
        assert row["创建时间"] == local(item["created_at"])
        assert row["审核状态"] == "待审核" and row["有冲突"] == "否"
        assert row["住户"] == (item["household"] or "")
    findings = {row["走访情况"] for row in rows}
    # Chinese comes back byte for byte; text that Excel would run as a formula does not.
    assert {FINDINGS[0], FINDINGS[2], "二网格的走访"} <= findings
    quoted = "'" + FINDINGS[1] if format == "csv" else FINDINGS[1]
    assert quoted in findings

    english = await exported(harness, headers, "/api/visits/export", format=format, lang="en")
    assert {row["Purpose"] for row in english} == {"Care visit", "Routine"}
    assert len(english) == 5


async def test_personal_data_is_masked_unless_revealed_by_a_role_with_the_right(
    harness: Harness,
) -> None:
    coordinator = await device_headers(
        harness, await person(harness, Role.COORDINATOR, ["C"], "coordinator")
    )
    member = await device_headers(harness, await person(harness, Role.GRID_MEMBER, ["G1"], "m"))
    machine = await machine_headers(harness, ["G1"])
    for headers in (coordinator, member, machine):
        [home] = await exported(harness, headers, "/api/households/export")
        assert home["电话"] == "138****5678" and home["户主"] == "张三"
    [home] = await exported(harness, coordinator, "/api/households/export", reveal="true")
    assert home["电话"] == PHONE
    [home] = await exported(
        harness, coordinator, "/api/households/export", format="xlsx", reveal="true"
    )
    assert home["电话"] == PHONE
    for headers in (member, machine):
        response = await harness.client.get(
            "/api/households/export", params={"reveal": "true"}, headers=headers
        )
        assert (response.status_code, response.json()["reason"]) == (403, "forbidden")
        assert PHONE.encode() not in response.content

    entries = await audit(harness)
    assert [(e.outcome, e.target_kind) for e in entries[-2:]] == [("denied", "households")] * 2
    revealed = [e.detail for e in entries if e.outcome == "ok" and e.detail["revealed"]]
    assert [(d["format"], d["rows"]) for d in revealed] == [("csv", 1), ("xlsx", 1)]


async def test_nothing_outside_the_callers_grids_and_every_export_is_audited(
    harness: Harness,
) -> None:
    member = await device_headers(harness, await person(harness, Role.GRID_MEMBER, ["G1"], "m"))
    mine = await exported(harness, member, "/api/visits/export")
    assert len(mine) == 4 and "二网格的走访" not in {row["走访情况"] for row in mine}
    assert await exported(harness, member, "/api/visits/export", grid="G2") == []
    assert await exported(harness, member, "/api/visits/export", grid="G2", format="xlsx") == []

    details = [entry.detail for entry in await audit(harness)]
    assert details == [
        {"kind": "visits", "filters": {}, "rows": 4, "format": "csv", "revealed": False},
        {
            "kind": "visits",
            "filters": {"grid": "G2"},
            "rows": 0,
            "format": "csv",
            "revealed": False,
        },
        {
            "kind": "visits",
            "filters": {"grid": "G2"},
            "rows": 0,
            "format": "xlsx",
            "revealed": False,
        },
    ]


async def test_too_many_rows_and_bad_filters_are_refused_whole(
    harness: Harness, monkeypatch: pytest.MonkeyPatch
) -> None:
    member = await device_headers(harness, await person(harness, Role.GRID_MEMBER, ["G1"], "m"))
    monkeypatch.setattr(export_api, "MAX_ROWS", 3)
    response = await harness.client.get("/api/visits/export", headers=member)
    assert (response.status_code, response.json()["reason"]) == (400, "export_too_large")
    assert len(await exported(harness, member, "/api/visits/export", purpose="care_visit")) == 3
    for params in ({"tag": "veteran"}, {"since": "2026-11-01T00:00:00"}, {"format": "pdf"}):
        response = await harness.client.get("/api/visits/export", params=params, headers=member)
        assert response.status_code == 400, params
    assert [entry.detail["rows"] for entry in await audit(harness)] == [3]


async def test_the_console_list_links_to_an_export_of_what_it_shows(harness: Harness) -> None:
    coordinator = await person(harness, Role.COORDINATOR, ["C"], "coordinator")
    browser = await session_headers(harness, coordinator)
    page = await harness.client.get(
        "/console/visits", params={"purpose": "care_visit", "grid": "G1"}, headers=browser
    )
    assert page.status_code == 200
    assert (
        'href="/console/visits/export?purpose=care_visit&amp;grid=G1&amp;format=csv"' in page.text
    )
    assert "导出 CSV" in page.text and "导出 Excel" in page.text

    rows = await exported(
        harness, browser, "/console/visits/export", purpose="care_visit", grid="G1", format="xlsx"
    )
    api = await api_rows(harness, browser, "visits", purpose="care_visit", grid="G1")
    assert [row["编号"] for row in rows] == [item["doc_id"] for item in api] and len(rows) == 3
    assert {row["走访目的"] for row in rows} == {"关爱探访"}
    refused = await harness.client.get(
        "/console/visits/export", params={"format": "pdf"}, headers=browser
    )
    assert refused.status_code == 400 and "<html" in refused.text
