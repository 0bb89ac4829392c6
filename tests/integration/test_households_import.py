"""Importing a households register (CSV or XLSX): a preview that writes nothing, an import
that creates household documents tablets of the grid pull, and no duplicates on a repeat."""

import csv
import io
import re
from pathlib import Path
from typing import Any

import httpx
import openpyxl
import pytest
import sqlalchemy as sa

from server.access.audit import SYSTEM
from server.access.roles import Role
from server.db.access_tables import audit_log
from server.households.register import MAX_FILE_BYTES, MAX_ROWS

from .harness import PASSWORD, TWO_COMMUNITIES, Harness, Person, org, running_app, session_headers
from .test_projection import settled

Headers = dict[str, str]
HEADER = ["网格", "小区", "楼栋", "单元", "室", "户主", "联系电话", "家庭成员", "标签"]
GOOD = [
    [
        "G1",
        "幸福小区",
        "3号楼",
        "2单元",
        "301",
        "王建国",
        "13800138000",
        "李梅/配偶/1962",
        "独居老人",
    ],
    ["G1", "幸福小区", "3号楼", "2单元", "302", "赵秀英", "0571-88888888", "", "低保、残疾"],
    ["G2", "和顺花园", "1号楼", "1单元", "101", "孙立", "13900139000", "", ""],
]


def as_csv(rows: list[list[Any]], header: list[str] = HEADER) -> bytes:
    text = io.StringIO()
    csv.writer(text).writerows([header, *rows])
    return text.getvalue().encode("utf-8-sig")


def as_xlsx(rows: list[list[Any]], header: list[str] = HEADER) -> bytes:
    book = openpyxl.Workbook()
    sheet = book.active
    assert sheet is not None
    for row in [header, *rows]:
        sheet.append(row)
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


FORMATS = {"csv": as_csv, "xlsx": as_xlsx}


async def coordinators(harness: Harness) -> tuple[Headers, Headers]:
    """Sessions of 张敏 (coordinates C1: grids G1, G2) and 赵磊 (C2: grid G3)."""
    await org(harness, *TWO_COMMUNITIES)
    found = []
    for username, name, unit in [("zhang", "张敏", "C1"), ("zhao", "赵磊", "C2")]:
        access = harness.services.access
        account = await access.accounts.create(
            username, name, Role.COORDINATOR, [unit], PASSWORD, SYSTEM
        )
        found.append(await session_headers(harness, Person(account, username, Role.COORDINATOR)))
    return found[0], found[1]


async def upload(
    harness: Harness, headers: Headers, content: bytes, name: str, dry_run: bool
) -> httpx.Response:
    return await harness.client.post(
        "/api/households/import",
        params={"dry_run": str(dry_run).lower()},
        files={"file": (name, content)},
        headers=headers,
    )


async def households(harness: Harness, headers: Headers) -> list[dict[str, Any]]:
    await settled(harness)
    response = await harness.client.get(
        "/api/households", params={"reveal": "true"}, headers=headers
    )
    assert response.status_code == 200, response.text
    items: list[dict[str, Any]] = response.json()["items"]
    return items


async def import_audits(harness: Harness) -> list[dict[str, Any]]:
    async with harness.services.database.connect() as connection:
        rows = await connection.execute(
            sa.select(audit_log)
            .where(audit_log.c.action == "households.imported")
            .order_by(audit_log.c.id)
        )
        return [dict(row) for row in rows.mappings()]


@pytest.mark.parametrize("format", ["csv", "xlsx"])
async def test_a_preview_shows_each_bad_row_and_writes_nothing(
    database_url: str, format: str
) -> None:
    rows = [
        *GOOD,
        ["G1", "幸福小区", "3号楼", "2单元", "", "缺房号", "13800138001", "", ""],
        ["G1", "幸福小区", "5号楼", "1单元", "501", "钱多", "12345", "", "不存在的标签"],
        ["G3", "和平小区", "1号楼", "1单元", "101", "别人", "13800138002", "", ""],
        ["G1", "幸福小区", "3号楼", "2单元", "301", "重复", "13800138003", "", ""],
    ]
    async with running_app(database_url) as harness:
        zhang, _ = await coordinators(harness)
        before = await harness.stored_update_count()
        response = await upload(harness, zhang, FORMATS[format](rows), f"台账.{format}", True)
        assert response.status_code == 200, response.text
        report = response.json()
        assert report["format"] == format and report["rows"] == 7 and report["dry_run"]
        found = {(e["row"], e["column"], e["reason"]) for e in report["errors"]}
        assert found == {
            (5, "room", "required"),
            (6, "phone", "invalid"),
            (6, "tags", "invalid"),
            (7, "grid", "grid_out_of_scope"),
            (8, None, "duplicate_row"),
        }
        phone = next(e for e in report["errors"] if e["column"] == "phone")
        assert "13800138000" in phone["detail"]  # the schema's hint, what a person can act on
        assert [h["row"] for h in report["households"]] == [2, 3, 4]

        refused = await upload(harness, zhang, FORMATS[format](rows), f"台账.{format}", False)
        assert refused.status_code == 422, refused.text
        assert refused.json()["reason"] == "import_has_errors"
        assert await harness.stored_update_count() == before
        assert await households(harness, zhang) == []
        assert [
            (a["outcome"], a["detail"]["rows_with_errors"]) for a in await import_audits(harness)
        ] == [("refused", 4)]


@pytest.mark.parametrize("format", ["csv", "xlsx"])
async def test_imported_households_reach_the_tablets_of_their_grid_once(
    database_url: str, format: str, tmp_path: Path
) -> None:
    async with running_app(database_url) as harness:
        zhang, zhao = await coordinators(harness)
        content = FORMATS[format](GOOD)
        preview = (await upload(harness, zhang, content, "台账", True)).json()
        assert preview["to_create"] == 3 and preview["errors"] == []
        assert await households(harness, zhang) == []

        response = await upload(harness, zhang, content, "台账", False)
        assert response.status_code == 200, response.text
        done = response.json()
        assert done["created"] == 3 and not done["dry_run"]
        ids = {h["row"]: h["doc_id"] for h in done["households"]}

        listed = {h["doc_id"]: h for h in await households(harness, zhang)}
        assert set(listed) == set(ids.values())
        wang = listed[ids[2]]
        assert (wang["grid"], wang["head_name"], wang["phone"]) == ("G1", "王建国", "13800138000")
        assert (wang["compound"], wang["building"], wang["unit"], wang["room"]) == (
            "幸福小区",
            "3号楼",
            "2单元",
            "301",
        )
        assert await households(harness, zhao) == []  # another community sees none of it

        tablet, _ = await harness.tablet(tmp_path / "g1.sqlite3", "G1", "王芳")
        await tablet.sync()
        pulled = {record.id: record for record in tablet.records() if record.kind == "household"}
        assert set(pulled) == {ids[2], ids[3]}  # G2's household is not G1's tablet's
        record = pulled[ids[2]]
        assert record.fields["members"] == [
            {"name": "李梅", "relation": "配偶", "birth_year": 1962}
        ]
        assert record.fields["tags"] == ["living_alone"]
        assert record.meta["created_by"] == "张敏" and record.meta["grid"] == "G1"
        assert [note["kind"] for note in record.notes] == ["import"]
        # The tablet edits an imported household like its own: the server takes it.
        record.set("phone", "13700137000")
        assert (await tablet.sync()).refused == []
        await tablet.close()

        again = await upload(harness, zhang, content, "台账（再次）", False)
        assert again.status_code == 200, again.text
        assert (again.json()["created"], again.json()["existing"]) == (0, 3)
        statuses = {h["status"] for h in again.json()["households"]}
        assert statuses == {"imported"}
        assert len(await households(harness, zhang)) == 3
        audits = [a["detail"] for a in await import_audits(harness) if a["outcome"] == "ok"]
        assert [(a["created"], a["existing"], a["rows"]) for a in audits] == [(3, 0, 3), (0, 3, 3)]


async def test_a_household_a_tablet_recorded_is_not_imported_again(
    database_url: str, tmp_path: Path
) -> None:
    async with running_app(database_url) as harness:
        zhang, _ = await coordinators(harness)
        tablet, _ = await harness.tablet(tmp_path / "g1.sqlite3", "G1", "王芳")
        # Same address, typed with full-width digits and spaces on the tablet.
        fields = {"compound": "幸福小区", "building": "３号楼", "unit": "2 单元", "room": "301"}
        tablet.new_record("household", "G1", fields)
        await tablet.sync()
        await tablet.close()
        await settled(harness)
        report = (await upload(harness, zhang, as_csv(GOOD), "台账.csv", True)).json()
        assert {h["row"]: h["status"] for h in report["households"]} == {
            2: "recorded",
            3: "new",
            4: "new",
        }
        done = (await upload(harness, zhang, as_csv(GOOD), "台账.csv", False)).json()
        assert done["created"] == 2
        assert len(await households(harness, zhang)) == 3


async def test_english_headers_gbk_and_numbers_typed_into_excel(database_url: str) -> None:
    header = ["Grid code", "Compound", "Building", "Unit", "Room", "Head of household", "Phone"]
    rows = [["G2", "和顺花园", 2, 1, 1203, "周敏", 13800138000]]
    async with running_app(database_url) as harness:
        zhang, _ = await coordinators(harness)
        xlsx = (await upload(harness, zhang, as_xlsx(rows, header), "r.xlsx", False)).json()
        assert xlsx["created"] == 1, xlsx
        gbk = as_csv([["G2", "和顺花园", "2", "1", "1204", "吴刚", "13800138009"]], header)
        gbk = gbk.decode("utf-8-sig").encode("gb18030")
        assert (await upload(harness, zhang, gbk, "r.csv", False)).json()["created"] == 1
        found = {h["room"]: h for h in await households(harness, zhang)}
        assert (found["1203"]["phone"], found["1203"]["building"]) == ("13800138000", "2")
        assert found["1204"]["head_name"] == "吴刚"


async def test_bad_files_get_a_clear_4xx(database_url: str) -> None:
    async with running_app(database_url) as harness:
        zhang, _ = await coordinators(harness)

        async def refused(content: bytes, status: int, reason: str) -> None:
            response = await upload(harness, zhang, content, "r.csv", True)
            assert response.status_code == status, response.text
            assert response.json()["reason"] == reason

        await refused(b"x" * (MAX_FILE_BYTES + 100_000), 413, "body_too_large")
        await refused(b"a" * (MAX_FILE_BYTES + 1), 413, "file_too_large")
        many = [["G1", "小区", "", "", str(n), "", "", "", ""] for n in range(MAX_ROWS + 1)]
        await refused(as_csv(many), 413, "too_many_rows")
        await refused(b"PK\x03\x04 not really a workbook", 400, "unreadable_file")
        await refused(b"", 400, "empty_file")
        no_room = (await upload(harness, zhang, as_csv([], ["网格", "小区"]), "r.csv", True)).json()
        assert [(e["column"], e["reason"]) for e in no_room["errors"]] == [
            ("room", "missing_column")
        ]
        missing = await harness.client.post(
            "/api/households/import", data={"x": "1"}, files={"other": ("a", b"b")}, headers=zhang
        )
        assert missing.status_code == 400 and missing.json()["reason"] == "file_required"


async def test_only_reviewers_import(database_url: str) -> None:
    async with running_app(database_url) as harness:
        await coordinators(harness)
        account = await harness.services.access.accounts.create(
            "wang", "王芳", Role.GRID_MEMBER, ["G1"], PASSWORD, SYSTEM
        )
        member = await session_headers(harness, Person(account, "wang", Role.GRID_MEMBER))
        response = await upload(harness, member, as_csv(GOOD), "r.csv", False)
        assert response.status_code == 403, response.text
        assert await harness.stored_update_count() == 0


async def test_the_console_previews_then_imports_on_confirmation(database_url: str) -> None:
    async with running_app(database_url) as harness:
        zhang, _ = await coordinators(harness)
        client = harness.client
        listing = await client.get("/console/households", headers=zhang)
        assert 'id="import-households" href="/console/households/import"' in listing.text
        form = await client.get("/console/households/import", headers=zhang)
        assert form.status_code == 200 and 'id="import-rule"' in form.text

        bad = [*GOOD, ["G3", "和平小区", "1号楼", "1单元", "101", "别人", "", "", ""]]
        shown = await client.post(
            "/console/households/import",
            params={"lang": "en"},
            files={"file": ("台账.xlsx", as_xlsx(bad))},
            headers=zhang,
        )
        assert shown.status_code == 200, shown.text
        assert 'data-row="5" data-reason="grid_out_of_scope"' in shown.text
        assert "“G3” is not one of your grids" in shown.text
        assert 'id="import-fix-first"' in shown.text and 'id="import-confirm"' not in shown.text

        good = await client.post(
            "/console/households/import",
            files={"file": ("台账.csv", as_csv(GOOD))},
            headers=zhang,
        )
        assert 'id="import-confirm"' in good.text and "确认导入 3 户" in good.text
        assert await households(harness, zhang) == []  # a preview writes nothing
        carried = re.search(r'name="content" value="([^"]+)"', good.text)
        assert carried is not None
        done = await client.post(
            "/console/households/import/confirm",
            files={"content": (None, carried.group(1)), "filename": (None, "台账.csv")},
            headers=zhang,
        )
        assert done.status_code == 200, done.text
        assert 'id="import-done"' in done.text and "已导入 3 户" in done.text
        assert len(await households(harness, zhang)) == 3

        too_big = await client.post(
            "/console/households/import",
            files={"file": ("big.csv", b"x" * (MAX_FILE_BYTES + 100_000))},
            headers=zhang,
        )
        assert too_big.status_code == 413
