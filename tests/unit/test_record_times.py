"""The time a visit counts for on the dashboard (`happened_at`), as the projection writes it."""

from datetime import UTC, datetime
from typing import Any

from schemas.decode import decode

DOC = "11111111-1111-4111-8111-111111111111"
HOUSEHOLD = "22222222-2222-4222-8222-222222222222"
CREATED = "2026-11-20T08:00:00.000+08:00"


def visit(**fields: Any) -> Any:
    meta = {"kind": "visit", "grid": "G1", "created_by": "王芳", "created_at": CREATED}
    return decode(DOC, {"meta": meta, "fields": {"household": HOUSEHOLD, **fields}})


def test_a_visit_counts_when_it_was_made_and_its_needs_with_it() -> None:
    needs = [{"category": "repair", "status": "open", "deadline": "2026-12-01"}]
    rows = visit(visited_at="2026-11-18T23:30:00+08:00", needs=needs).tables()
    made = datetime(2026, 11, 18, 15, 30, tzinfo=UTC)
    assert rows["visits"][0]["happened_at"] == made
    assert [(n["grid"], n["happened_at"]) for n in rows["visit_needs"]] == [("G1", made)]


def test_without_a_visit_time_it_counts_when_its_record_was_created() -> None:
    rows = visit(visited_at="not a time").tables()
    assert rows["visits"][0]["visited_at"] is None
    assert rows["visits"][0]["happened_at"] == datetime(2026, 11, 20, 0, 0, tzinfo=UTC)


def test_other_kinds_have_no_happened_at() -> None:
    meta = {"kind": "case", "grid": "G1", "created_by": "王芳", "created_at": CREATED}
    rows = decode(DOC, {"meta": meta, "fields": {"title": "楼道堆物"}}).tables()
    assert "happened_at" not in rows["cases"][0]
