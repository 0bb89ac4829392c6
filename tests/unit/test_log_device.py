"""The device a tablet names in each field-history entry: written by the SDK when it knows
its device id, read into `field_history.device`, optional for stock Yjs apps."""

import uuid
from typing import Any

from pycrdt import Array, Doc

from schemas.decode import decode
from sync.layout import to_plain
from tablet.record import Record

DEVICE = "6f1c2a4e-8b1d-4c55-9a0e-2f3b4c5d6e7f"


def history(record: Record) -> tuple[list[Any], list[str]]:
    decoded = decode(record.id, to_plain(record.doc))
    paths = [issue["path"] for issue in decoded.tables()["validation_issues"]]
    return [row["device"] for row in decoded.tables()["field_history"]], paths


def written(device: str | None) -> Record:
    record = Record(str(uuid.uuid4()), Doc(), "王芳", lambda *_: None, device)
    record.initialise("visit", "G1", {"household": str(uuid.uuid4()), "findings": "独居"})
    record.set("findings", "独居老人")
    return record


def test_the_sdk_names_its_device_in_every_entry_it_writes() -> None:
    record = written(DEVICE)
    assert [entry["device"] for entry in record.log] == [DEVICE] * 3
    devices, issues = history(record)
    assert devices == [DEVICE] * 3
    assert not [path for path in issues if path.startswith("log")]


def test_an_entry_without_a_device_is_fine_and_a_bad_one_is_an_issue() -> None:
    record = written(None)
    assert all("device" not in entry for entry in record.log)
    devices, issues = history(record)
    assert devices == [None] * 3 and not [path for path in issues if path.startswith("log")]

    with record.doc.transaction():
        log = record.doc.get("log", type=Array)
        log.append(
            {
                "id": "x",
                "f": "findings",
                "v": "y",
                "by": "yjs",
                "prev": [],
                "device": 7,
                "at": "2026-11-23T09:00:00+08:00",
            }
        )
    devices, issues = history(record)
    assert devices[-1] is None and "log[3].device" in issues
