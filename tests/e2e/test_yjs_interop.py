"""Interop with the npm `yjs` package, run by Node: a document written by JS yjs is read
by a pycrdt tablet, and the reverse, through the raw per-document endpoints."""

import json
import shutil
import subprocess
import uuid
from pathlib import Path
from typing import Any

import pytest

from tablet import Tablet

from .conftest import ServerProcess

JS = Path(__file__).parents[1] / "interop" / "js"
GRID = "G-interop"

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(shutil.which("node") is None, reason="Node.js is not installed"),
]


@pytest.fixture(scope="module", autouse=True)
def yjs_installed() -> None:
    """The pinned npm packages, from package-lock.json."""
    if not (JS / "node_modules" / "yjs").is_dir():
        subprocess.run(["npm", "ci", "--no-audit", "--no-fund"], cwd=JS, check=True, timeout=300)


def node(script: str, *args: str) -> dict[str, Any]:
    done = subprocess.run(
        ["node", script, *args], cwd=JS, capture_output=True, text=True, check=True, timeout=60
    )
    result: dict[str, Any] = json.loads(done.stdout)
    return result


async def test_a_yjs_document_reaches_a_pycrdt_tablet(
    server: ServerProcess, tmp_path: Path
) -> None:
    doc_id = str(uuid.uuid4())
    written = node("write_doc.mjs", server.url, server.add_device(GRID, "js"), doc_id, GRID)
    assert written["status"] == 200 and written["body"]["status"] == "accepted"
    async with Tablet(tmp_path / "t.sqlite3", server.url, server.add_device(GRID)) as tablet:
        await tablet.sync()
        record = tablet.record(doc_id)
        assert record.meta == written["content"]["meta"]
        assert record.fields == written["content"]["fields"]
        assert record.fields["findings"] == "独居老人，需要送餐 🍚 𠀀 mixed script"
        assert record.log == written["content"]["log"]
        assert record.notes == written["content"]["notes"]  # a nested Y.Map, read as a dict


async def test_a_pycrdt_document_reaches_yjs_and_comes_back_edited(
    server: ServerProcess, tmp_path: Path
) -> None:
    async with Tablet(
        tmp_path / "t.sqlite3", server.url, server.add_device(GRID), "李娜"
    ) as tablet:
        record = tablet.new_record("case", GRID, {"title": "楼上漏水 💧", "type": "邻里纠纷"})
        record.add_note("第一次调解：双方同意查看现场", method="现场")
        await tablet.sync()
        js_token = server.add_device(GRID, "js")
        read = node("read_doc.mjs", server.url, js_token, record.id)
        assert read["status"] == 200 and read["diff_noop"] is True
        assert read["content"] == {k: v for k, v in record.to_plain().items() if k != "review"}

        edited = node("edit_doc.mjs", server.url, js_token, record.id, "title", "楼上漏水（已修）")
        assert edited["status"] == 200
        await tablet.sync()
        assert record.get("title") == "楼上漏水（已修）"
        assert record.current_writes("title") == [record.log[-1]["id"]]
