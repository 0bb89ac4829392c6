"""Decoding what the log holds, whatever it holds: flagged, never raising, never recursing
without a bound; and the projection worker, which no failure stops."""

import asyncio
import json
from typing import Any

import pytest
from pycrdt import Doc, Map

from schemas.decode import decode
from server.console.tables import shown
from server.errors import ClientError
from server.records.projection import ProjectionWorker
from server.records.stored import UNREADABLE_PATH, decode_stored, is_flagged
from server.review.api import MAX_BODY_DEPTH, json_depth
from server.review.edits import check_value
from sync.layout import to_plain
from sync.shape import ShapeLimits
from tests import yjs_bytes as yb

LIMITS = ShapeLimits()
CLIENT = 99


def first_update(fields: dict[str, Any]) -> bytes:
    doc: Doc[Any] = Doc()
    with doc.transaction():
        meta = {"kind": "visit", "grid": "G1", "created_by": "王芳"}
        doc.get("meta", type=Map).update({**meta, "created_at": "2026-11-20T09:30:00+08:00"})
        doc.get("fields", type=Map).update(fields)
    return doc.get_update()


def nested(depth: int) -> Any:
    value: Any = None
    for _ in range(depth):
        value = [value]
    return value


@pytest.mark.parametrize(
    "poison",
    [
        yb.field_value(CLIENT, yb.nested_arrays(1000)),
        yb.field_value(CLIENT, yb.nested_objects(5000), key="y"),
        yb.nested_types(CLIENT, 20000),
        b"\x01\x02garbage",
    ],
    ids=["arrays", "objects", "types", "garbage"],
)
def test_an_unreadable_document_is_decoded_as_far_as_it_goes(poison: bytes) -> None:
    readable = first_update({"findings": "独居老人"})
    later = first_update({"purpose": "routine"})  # after the poison: not projected
    decoded = decode_stored("d1", [readable, poison, later], "visit", "G1", LIMITS)
    assert is_flagged(decoded) and decoded.issues[0].path == UNREADABLE_PATH
    main = decoded.main_row
    assert main is not None and main["findings"] == "独居老人" and main["purpose"] is None
    assert main["issue_count"] == len(decoded.issues) == len(decoded.rows["validation_issues"])
    # Deterministic: what the nightly verify compares with is what the projection wrote.
    assert decode_stored("d1", [readable, poison, later], "visit", "G1", LIMITS) == decoded


def test_without_a_readable_meta_the_documents_table_names_kind_and_grid() -> None:
    for log in ([yb.nested_types(CLIENT, 20000)], []):
        decoded = decode_stored("d2", log, "case", "G7", LIMITS)
        assert decoded.main_table == "cases" and decoded.main_row is not None
        assert decoded.main_row["grid"] == "G7" and decoded.main_row["issue_count"] == 1
        assert [issue.path for issue in decoded.issues] == [UNREADABLE_PATH]
    unknown = decode_stored("d3", [], "", "G7", LIMITS)
    assert unknown.main_table is None and is_flagged(unknown)


def test_a_readable_document_decodes_as_the_oracle_says() -> None:
    update = first_update({"findings": "家中无人"})
    doc: Doc[Any] = Doc()
    doc.apply_update(update)
    decoded = decode_stored("d4", [update], "visit", "G1", LIMITS)
    assert decoded == decode("d4", to_plain(doc)) and not is_flagged(decoded)


def test_decoding_is_total_on_hostile_review_and_deep_values() -> None:
    content = {
        "meta": {"kind": "case", "grid": "G1"},
        "review": {"state": ["approved"], "seen": [1]},  # a list is not even hashable
        "fields": {"title": nested(50_000), "parties": [{"name": nested(50_000)}]},
        "log": [{"id": "a", "f": "title", "v": nested(50_000), "prev": [nested(50_000)]}],
        "notes": [{"id": "n", "text": nested(50_000), "extra": nested(50_000)}],
    }
    decoded = decode("d5", content)
    assert decoded.main_row is not None and decoded.main_row["review_state"] is None
    json.dumps(decoded.rows, default=str)  # every value it keeps is bounded


def test_the_console_shows_a_deep_value_cut_short() -> None:
    text = shown("zh", "value", nested(10_000))
    assert "<too deep>" in text and text.count("[") <= 64


def test_a_resolved_value_is_held_to_the_documents_limits() -> None:
    check_value({"a": nested(LIMITS.max_depth - 2)}, LIMITS)  # inside its log entry: 32
    for value, reason in [
        (nested(LIMITS.max_depth), "too_deep"),
        (nested(100_000), "too_deep"),
        (list(range(LIMITS.max_entries + 1)), "value_too_large"),
        ("长" * LIMITS.max_string_bytes, "value_too_large"),
        ({"长" * LIMITS.max_string_bytes: 1}, "value_too_large"),
    ]:
        with pytest.raises(ClientError) as refused:
            check_value(value, LIMITS)
        assert (refused.value.status, refused.value.reason) == (413, reason)


def test_json_depth_counts_brackets_outside_strings() -> None:
    assert json_depth(b'{"value": "[[[[{{{{\\"]]]"}') == 1
    assert json_depth(b'{"a": [[1], [2, [3]]], "b": {}}') == 4
    assert json_depth(b"[" * 100_000 + b"]" * 100_000) == 100_000
    assert json_depth(b"") == 0
    assert json_depth(b'{"value": ' + b"[" * MAX_BODY_DEPTH + b"]" * MAX_BODY_DEPTH + b"}") > (
        MAX_BODY_DEPTH
    )


class FailingOnce:
    """A projector whose startup catch-up fails the first time."""

    def __init__(self) -> None:
        self.catch_ups = 0

    async def catch_up(self, batch: int = 200) -> int:
        self.catch_ups += 1
        if self.catch_ups == 1:
            raise RuntimeError("the database went away at startup")
        return 0


async def test_a_failing_startup_catch_up_is_retried_and_the_worker_lives_on() -> None:
    projector = FailingOnce()
    worker = ProjectionWorker(projector, interval=0.01)  # type: ignore[arg-type]
    task = asyncio.create_task(worker.run())
    try:
        for _ in range(200):
            if projector.catch_ups >= 3:  # the startup one again, then the sweeps
                break
            await asyncio.sleep(0.01)
        assert projector.catch_ups >= 3 and not task.done()
    finally:
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
