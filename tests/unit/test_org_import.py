"""Reading the org tree's CSV: what is accepted, and each row's error with its line."""

from collections.abc import Sequence

import pytest

from server.access.audit import SYSTEM, Actor
from server.access.org import Level, Unit
from server.access.org_import import (
    MAX_ROWS,
    ImportResult,
    RowError,
    check_tree,
    import_units,
    parse_csv,
    plan,
)
from server.access.principal import Principal

HEADER = "code,name,level,parent\n"


def units(text: str) -> list[Unit]:
    parsed = parse_csv(text)
    assert parsed.errors == []
    return [row.unit for row in parsed.rows]


def errors(text: str, existing: dict[str, Unit] | None = None) -> list[tuple[int, str]]:
    parsed = parse_csv(text)
    found = parsed.errors + check_tree(parsed, existing or {})
    return sorted((error.line, error.message) for error in found)


def test_reads_bom_labels_quotes_any_column_order_and_blank_lines() -> None:
    text = (
        "\ufeff Parent , CODE,name,level\n"
        ",LP,临平街道,街道\n"
        "\n"
        'LP,LP-01,"东湖社区, 老街",社区\n'
        "LP-01,LP-01-03,东湖三网格,网格\n"
        ",,,\n"
        "LP,LP-02,西湖村,村\n"
        ",YH,余杭镇,镇\n"
        "LP-01,G.9_x,九网格, Grid \n"
    )
    assert units(text) == [
        Unit("LP", "临平街道", Level.STREET),
        Unit("LP-01", "东湖社区, 老街", Level.COMMUNITY, "LP"),
        Unit("LP-01-03", "东湖三网格", Level.GRID, "LP-01"),
        Unit("LP-02", "西湖村", Level.COMMUNITY, "LP"),
        Unit("YH", "余杭镇", Level.STREET),
        Unit("G.9_x", "九网格", Level.GRID, "LP-01"),
    ]


def test_the_parent_column_may_be_left_out() -> None:
    assert units("code,name,level\nS,临平街道,street\nG,网格,grid\n") == [
        Unit("S", "临平街道", Level.STREET),
        Unit("G", "网格", Level.GRID),
    ]


@pytest.mark.parametrize(
    ("header", "message"),
    [
        ("", "no column 'code'"),
        ("code,name\n", "no column 'level'"),
        ("code,name,level,parent,owner\n", "unknown column 'owner'"),
        ("code,name,level,code\n", "column 'code' twice"),
    ],
)
def test_a_bad_header_is_reported_on_line_1(header: str, message: str) -> None:
    found = errors(header + "S,临平街道,street,\n")
    assert len(found) == 1 and found[0][0] == 1 and message in found[0][1]


def test_each_bad_row_is_reported_with_its_line() -> None:
    text = HEADER + "\n".join(
        [
            "S,临平街道,street,",  # 2: fine
            ",无编码,street,",  # 3
            "S2,,street,",  # 4
            "S3,南苑,city,",  # 5
            "S 4,南苑,street,",  # 6
            f"{'X' * 65},长,street,",  # 7
            f"S5,{'长' * 101},street,",  # 8
            "S,临平街道,street,",  # 9: the same code again
            "S6,六,street,,extra",  # 10
            "C1,社区,community,S",  # 11: fine
            "C2,社区,community,",  # 12
            "C3,社区,community,C1",  # 13
            "G1,网格,grid,S",  # 14
            "G2,网格,grid,C404",  # 15
            "G3,网格,grid,S3",  # 16: its parent's row is refused
            "S7,街道,street,S",  # 17
        ]
    )
    found = errors(text)
    assert [line for line, _ in found] == [3, 4, 5, 6, 7, 8, 9, 10, 12, 13, 14, 15, 16, 17]
    messages = dict(found)
    assert messages[3] == "empty code" and messages[4] == "empty name"
    assert "'city' is not street, community or grid" in messages[5]
    assert "may hold only letters" in messages[6]
    assert "longer than 64" in messages[7] and "longer than 100" in messages[8]
    assert messages[9] == "code S is already on line 2"
    assert "more cells" in messages[10]
    assert messages[12] == "a community needs a parent street"
    assert messages[13] == "a community's parent is a street, and C1 is a community"
    assert messages[14] == "a grid's parent is a community, and S is a street"
    assert messages[15] == "parent C404 is neither in the file nor in the tree"
    assert messages[16] == "parent S3 has an error on line 5"
    assert messages[17] == "a street has no parent"


def test_parents_may_be_in_the_tree_and_levels_never_change() -> None:
    existing = {
        "S": Unit("S", "临平街道", Level.STREET),
        "C1": Unit("C1", "东湖社区", Level.COMMUNITY, "S"),
    }
    assert errors(HEADER + "G1,一网格,grid,C1\n", existing) == []
    assert errors(HEADER + "C1,东湖社区,grid,\n", existing) == [
        (2, "C1 is a community in the tree; a unit keeps its level")
    ]


def test_unreadable_csv_is_an_error_not_a_crash() -> None:
    found = errors(HEADER + 'S,"临平街道' + "x" * 200_000 + '",street,\n')
    assert found and "not readable as CSV" in found[0][1]


def test_too_many_rows_are_refused() -> None:
    text = HEADER + "".join(f"G{i},网格,grid,\n" for i in range(MAX_ROWS + 1))
    assert f"more than {MAX_ROWS} rows" in errors(text)[-1][1]


def test_plan_words_changes_as_the_tree_does() -> None:
    existing = {
        "S": Unit("S", "临平街道", Level.STREET),
        "C1": Unit("C1", "东湖社区", Level.COMMUNITY, "S"),
        "C2": Unit("C2", "西湖社区", Level.COMMUNITY, "S"),
        "G1": Unit("G1", "一网格", Level.GRID, "C1"),
    }
    wanted = [
        Unit("S", "临平街道", Level.STREET),
        Unit("C2", "西湖新社区", Level.COMMUNITY, "S"),
        Unit("G1", "一网格(北)", Level.GRID, "C2"),
        Unit("G2", "二网格", Level.GRID, "C2"),
    ]
    assert plan(wanted, existing) == [
        "org_unit.renamed C2",
        "org_unit.moved G1",
        "org_unit.created G2",
    ]


class FakeTree:
    def __init__(self) -> None:
        self.put_calls: list[list[Unit]] = []

    async def units(self) -> dict[str, Unit]:
        return {"S": Unit("S", "临平街道", Level.STREET)}

    async def put(self, units: Sequence[Unit], by: Actor | Principal) -> list[str]:
        self.put_calls.append(list(units))
        return [f"org_unit.created {unit.code}" for unit in units]


async def test_import_puts_parents_first_and_only_without_errors() -> None:
    tree = FakeTree()
    text = HEADER + "G1,一网格,grid,C1\nC1,东湖社区,community,S\nS,临平街道,street,\n"
    preview = await import_units(tree, text, SYSTEM, dry_run=True)
    assert preview == ImportResult(["org_unit.created C1", "org_unit.created G1"], [])
    assert tree.put_calls == []
    await import_units(tree, text, SYSTEM, dry_run=False)
    assert [[unit.code for unit in call] for call in tree.put_calls] == [["S", "C1", "G1"]]

    bad = await import_units(tree, text + "G2,,grid,C1\n", SYSTEM, dry_run=False)
    assert bad == ImportResult([], [RowError(5, "empty name")])
    assert len(tree.put_calls) == 1
