"""Reading a households register's rows: headers in zh-CN or English, cells as a person
types them, per-row errors with the row number, and stable household ids."""

from server.households.register import read_register
from server.households.rows import check_rows, household_id, map_columns

GRIDS = frozenset({"G1"})


def test_headers_in_either_language_and_unknown_ones_ignored() -> None:
    columns, ignored, missing = map_columns(["网格", "Compound", "楼号", "Unit", "房号", "备注"])
    assert columns == {"grid": 0, "compound": 1, "building": 2, "unit": 3, "room": 4}
    assert (ignored, missing) == (["备注"], [])
    assert map_columns(["户主", "Phone"])[2] == ["grid", "compound", "room"]


def test_the_same_address_typed_differently_names_the_same_household() -> None:
    typed = {"compound": "幸福小区", "building": "３号楼", "unit": "2 单元", "room": "301"}
    plain = {"compound": "幸福小区", "building": "3号楼", "unit": "2单元", "room": "301"}
    assert household_id("G1", typed) == household_id("G1", plain)
    assert household_id("G2", plain) != household_id("G1", plain)
    assert household_id("G1", {**plain, "room": "302"}) != household_id("G1", plain)


def test_members_and_tags_are_read_from_one_cell_each() -> None:
    header = ["网格", "小区", "室", "家庭成员", "标签"]
    rows = [(2, ["G1", "幸福小区", "301", "李梅/配偶/1962；王小明/子女", "独居老人、党员"])]
    checked = check_rows(header, rows, GRIDS)
    assert checked.errors == []
    fields = checked.planned[0].fields
    assert fields["members"] == [
        {"name": "李梅", "relation": "配偶", "birth_year": 1962},
        {"name": "王小明", "relation": "子女"},
    ]
    assert fields["tags"] == ["living_alone", "party_member"]


def test_each_bad_row_is_reported_with_its_number() -> None:
    header = ["网格", "小区", "室", "家庭成员"]
    rows = [
        (2, ["G1", "幸福小区", "301", "李梅/配偶/十九"]),
        (3, ["G2", "幸福小区", "302", None]),
        (4, ["G1", None, "303", None]),
    ]
    checked = check_rows(header, rows, GRIDS)
    assert [(e.row, e.column, e.reason) for e in checked.errors] == [
        (2, "members", "invalid"),
        (3, "grid", "grid_out_of_scope"),
        (4, "compound", "required"),
    ]
    assert checked.planned == [] and checked.rows_with_errors == 3


def test_a_csv_saved_by_excel_in_gb18030_reads_like_utf8() -> None:
    text = "网格,小区,室\r\nG1,幸福小区,301\r\n,,\r\n"
    for encoding in ("utf-8-sig", "gb18030"):
        sheet = read_register(text.encode(encoding))
        assert (sheet.format, sheet.header, sheet.rows) == (
            "csv",
            ["网格", "小区", "室"],
            [(2, ["G1", "幸福小区", "301"])],
        )


def test_a_title_above_the_header_is_skipped() -> None:
    header = ["幸福社区住户台账", None, None]
    rows = [(2, ["制表：2026年11月", None, None]), (3, ["网格", "小区", "室"])]
    rows.append((4, ["G1", "幸福小区", "301"]))
    checked = check_rows([cell or "" for cell in header], rows, GRIDS)
    assert checked.errors == [] and [p.row for p in checked.planned] == [4]
