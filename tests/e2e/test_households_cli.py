"""`doorstep households import`: the real command on a real database, as a coordinator;
a file with a bad row imports nothing, a good one creates its households once."""

from pathlib import Path

import pytest
import sqlalchemy as sa

from server.db.engine import make_engine
from server.db.record_tables import households

from .test_cli import TREE, doorstep

pytestmark = [pytest.mark.slow, pytest.mark.timeout(240)]

HEADER = "网格,小区,楼栋,单元,室,户主,联系电话\n"
GOOD = HEADER + "LP-01-01,梅堰北苑,3号楼,2单元,301,王建国,13800138000\n"
BAD = GOOD + "LP-09-01,别处小区,1号楼,1单元,101,别人,13800138001\n"


async def test_the_command_imports_a_register_once(database_url: str, tmp_path: Path) -> None:
    def run(*args: str) -> tuple[int, str]:
        done = doorstep(database_url, tmp_path, *args)
        return done.returncode, done.stderr

    (tmp_path / "tree.csv").write_text(TREE, encoding="utf-8")
    assert run("org", "import", "tree.csv")[0] == 0
    coordinator = ("--username", "zhang", "--name", "张敏", "--role", "coordinator")
    assert run("account", "add", *coordinator, "--unit", "LP-01")[0] == 0
    for name, text in [("bad.csv", BAD), ("good.csv", GOOD)]:
        (tmp_path / name).write_text(text, encoding="utf-8")

    code, said = run("households", "import", "bad.csv", "--as", "zhang")
    assert code == 1 and "row 3, grid: grid_out_of_scope LP-09-01" in said
    assert "nothing was imported" in said
    assert run("households", "import", "good.csv", "--as", "zhang", "--dry-run")[0] == 0
    engine = make_engine(database_url)
    try:
        async with engine.connect() as connection:
            assert await connection.scalar(sa.select(sa.func.count()).select_from(households)) == 0
        assert run("households", "import", "good.csv", "--as", "zhang") == (
            0,
            "1 rows: created 1 households, 0 exist already\n",
        )
        code, said = run("households", "import", "good.csv", "--as", "zhang")
        assert (code, said) == (0, "1 rows: created 0 households, 1 exist already\n")
        async with engine.connect() as connection:
            found = await connection.execute(sa.select(households.c.grid, households.c.head_name))
            assert found.all() == [("LP-01-01", "王建国")]  # projected, though no server runs
    finally:
        await engine.dispose()
    assert run("households", "import", "good.csv", "--as", "nobody")[0] == 1
