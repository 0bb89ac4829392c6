"""`schemas.decode.decode`: record documents as a tablet writes them, decoded into rows.

Documents are built with the real SDK (`tablet.record.Record`); concurrency is two or
three tablets editing offline, then exchanging updates.
"""

import json
import math
import uuid
from datetime import UTC, date, datetime
from typing import Any

import msgspec
import pytest
import sqlalchemy as sa
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st
from pycrdt import Array, Doc, Map

from schemas.decode import COMMON_TABLES, MAIN_TABLES, Decoded, decode, json_safe
from schemas.enums import LABELS, CaseStatus, Coded, HouseholdTag, NeedStatus, RecordKind
from schemas.records import MAX_TAGS, Case, Visit
from server.db.tables import UtcDateTime, metadata
from sync.layout import to_plain
from tablet.record import Record

GRID = "3301-01"
HOUSEHOLD_ID = "6ba7b810-9dad-11d1-80b4-00c04fd430c8"
RARE = "𠀀𪚥 王𠮷 😀👨‍👩‍👧 naïve Ελληνικά عربى ﷺ ０１２"


def new(kind: str, fields: dict[str, Any], author: str = "王芳") -> Record:
    record = Record(str(uuid.uuid4()), Doc(), author, on_edit=lambda r, u: None)
    record.initialise(kind, GRID, fields)
    return record


def fork(record: Record, author: str) -> Record:
    """Another tablet holding the same record (synced once, then offline)."""
    doc: Doc[Any] = Doc()
    doc.apply_update(record.doc.get_update())
    return Record(record.id, doc, author, on_edit=lambda r, u: None)


def exchange(*records: Record) -> None:
    """Every tablet syncs with every other."""
    updates = [record.doc.get_update() for record in records]
    for record in records:
        for update in updates:
            record.doc.apply_update(update)


def decoded(record: Record) -> Decoded:
    return decode(record.id, to_plain(record.doc))


def paths(result: Decoded) -> list[str]:
    return [issue.path for issue in result.issues]


def conflicts_of(result: Decoded, status: str) -> list[dict[str, Any]]:
    return [row for row in result.tables()["conflicts"] if row["status"] == status]


# --- valid records of each kind ------------------------------------------------------------


def test_a_household_projects_its_columns_members_and_tags() -> None:
    record = new(
        "household",
        {
            "compound": "幸福小区",
            "building": "3栋",
            "unit": "2单元",
            "room": "501",
            "head_name": "张桂英",
            "phone": "13800138000",
            "members": [
                {
                    "name": "张桂英",
                    "relation": "户主",
                    "birth_year": 1941,
                    "id_number": "33010219410101123X",
                },
                {"name": "李小明", "relation": "孙子", "birth_year": 2016},
            ],
            "tags": ["独居老人", "very_old", "留守儿童"],
        },
    )
    result = decoded(record)
    tables = result.tables()

    assert result.issues == []
    assert result.kind is RecordKind.HOUSEHOLD and result.grid == GRID
    assert set(tables) == {"households", "household_members", "household_tags", *COMMON_TABLES}
    row = tables["households"][0]
    assert row["doc_id"] == record.id
    assert (row["compound"], row["room"], row["phone"]) == ("幸福小区", "501", "13800138000")
    assert row["created_by"] == "王芳" and row["created_at"].tzinfo is UTC
    assert row["issue_count"] == 0 and row["has_conflict"] is False
    members = tables["household_members"]
    assert [(m["position"], m["name"], m["birth_year"]) for m in members] == [
        (0, "张桂英", 1941),
        (1, "李小明", 2016),
    ]
    assert type(members[0]["birth_year"]) is int
    assert members[0]["id_number"] == "33010219410101123X" and members[1]["id_number"] is None
    assert [t["tag"] for t in tables["household_tags"]] == [
        "living_alone",
        "very_old",
        "left_behind_child",
    ]
    assert [h["field"] for h in tables["field_history"]] == [
        "compound", "building", "unit", "room", "head_name", "phone", "members", "tags",
    ]  # fmt: skip


def test_a_visit_projects_times_in_utc_gps_purpose_and_needs() -> None:
    record = new(
        "visit",
        {
            "household": HOUSEHOLD_ID,
            "visitor": "王芳",
            "visited_at": "2026-11-23T09:30:00.000+08:00",
            "gps": {"lat": 30.27, "lon": 120.15, "accuracy": 12.5},
            "purpose": "关爱探访",
            "findings": "独居老人，行动不便，需要助餐服务",
            "needs": [
                {"category": "养老", "text": "助餐", "deadline": "2026-12-01"},
                {"category": "repair", "text": "楼道路灯坏了", "status": "已解决"},
            ],
            "follow_up_due": "2026-11-30",
        },
    )
    result = decoded(record)

    assert result.issues == []
    row = result.main_row
    assert row is not None and result.main_table == "visits"
    assert row["household"] == HOUSEHOLD_ID
    assert row["visited_at"] == datetime(2026, 11, 23, 1, 30, tzinfo=UTC)
    assert (row["gps_lat"], row["gps_lon"]) == (30.27, 120.15)
    assert row["purpose"] == "care_visit" and row["follow_up_due"] == date(2026, 11, 30)
    needs = result.tables()["visit_needs"]
    assert [(n["category"], n["status"], n["deadline"]) for n in needs] == [
        ("elderly_care", "open", date(2026, 12, 1)),
        ("repair", "resolved", None),
    ]


def test_a_case_gets_its_defaults_and_parties() -> None:
    record = new(
        "case",
        {
            "title": "楼上装修噪音",
            "type": "装修纠纷",
            "parties": [
                {"name": "陈先生", "role": "申请人", "contact": "13900001111"},
                {"name": "刘女士", "role": "respondent"},
            ],
            "occurred_at": "2026-11-20T22:15:00+08:00",
            "description": "晚上十点后仍在施工",
        },
    )
    result = decoded(record)

    assert result.issues == []
    row = result.main_row
    assert row is not None
    assert (row["type"], row["level"], row["status"], row["urgent"]) == (
        "renovation",
        "grid",
        "registered",
        False,
    )
    assert row["occurred_at"] == datetime(2026, 11, 20, 14, 15, tzinfo=UTC)
    assert row["deadline"] is None and row["outcome"] is None
    parties = result.tables()["case_parties"]
    assert [(p["name"], p["role"], p["contact"]) for p in parties] == [
        ("陈先生", "applicant", "13900001111"),
        ("刘女士", "respondent", None),
    ]


# --- invalid values: NULL column, an issue, and the rest projected ---------------------------


def test_a_phone_of_letters_is_null_with_an_issue_while_the_rest_is_projected() -> None:
    record = new("household", {"head_name": "张桂英", "phone": "call me", "tags": ["空巢"]})
    result = decoded(record)

    row = result.main_row
    assert row is not None
    assert row["phone"] is None
    assert row["head_name"] == "张桂英"
    assert result.tables()["household_tags"][0]["tag"] == "empty_nest"
    assert paths(result) == ["fields.phone"]
    assert "联系电话" in result.issues[0].message
    assert row["issue_count"] == 1
    assert result.tables()["validation_issues"] == [
        {
            "doc_id": record.id,
            "position": 0,
            "path": "fields.phone",
            "message": result.issues[0].message,
        }
    ]
    assert record.get("phone") == "call me"  # the document keeps what was written


@pytest.mark.parametrize("phone", ["13800138000", "0571-88888888", "010-12345678"])
def test_mobile_and_landline_numbers_are_accepted(phone: str) -> None:
    row = decoded(new("household", {"phone": phone})).main_row
    assert row is not None and row["phone"] == phone


@pytest.mark.parametrize(
    "phone", ["1380013800", "23800138000", "13800138000\n", "１３８００１３８０００"]
)
def test_near_miss_phone_numbers_are_issues(phone: str) -> None:
    result = decoded(new("household", {"phone": phone}))
    assert paths(result) == ["fields.phone"]


def test_a_visit_without_a_household_is_flagged() -> None:
    result = decoded(new("visit", {"purpose": "routine", "findings": "一切正常"}))
    assert paths(result) == ["fields.household"]
    row = result.main_row
    assert row is not None and row["household"] is None and row["purpose"] == "routine"


def test_a_household_that_is_not_a_uuid_is_flagged() -> None:
    result = decoded(new("visit", {"household": "302室"}))
    assert paths(result) == ["fields.household"]


def test_a_case_without_a_title_is_flagged() -> None:
    result = decoded(new("case", {"type": "other"}))
    assert paths(result) == ["fields.title"]


def test_issues_point_into_list_items() -> None:
    record = new(
        "visit",
        {
            "household": HOUSEHOLD_ID,
            "needs": [{"category": "养老"}, {"category": "买菜", "text": "x"}, "help"],
            "gps": {"lat": 95, "lon": 120},
        },
    )
    result = decoded(record)

    assert paths(result) == ["fields.gps.lat", "fields.needs[1].category", "fields.needs[2]"]
    needs = result.tables()["visit_needs"]
    assert [n["category"] for n in needs] == ["elderly_care", None, None]
    assert needs[1]["text"] == "x"  # the rest of the item is projected
    row = result.main_row
    assert row is not None and row["gps_lat"] is None and row["gps_lon"] is None


def test_too_many_items_keep_the_first_ones() -> None:
    result = decoded(new("household", {"tags": ["党员"] * (MAX_TAGS + 3)}))
    assert paths(result) == ["fields.tags"]
    assert len(result.tables()["household_tags"]) == MAX_TAGS


def test_unknown_fields_are_reported_not_projected() -> None:
    result = decoded(new("household", {"head_name": "张", "宠物": "猫", "pets": 2}))
    assert paths(result) == ["fields.pets", 'fields["宠物"]']  # sorted by name


def test_a_time_without_its_offset_is_null_with_an_issue() -> None:
    record = new("visit", {"household": HOUSEHOLD_ID, "visited_at": "2026-11-23T09:30:00"})
    record.add_note("已电话联系", at="2026-11-23 10:00")  # overrides the SDK's own time
    result = decoded(record)

    assert paths(result) == ["fields.visited_at", "notes[0].at"]
    assert "+08:00" in result.issues[0].message
    row = result.main_row
    assert row is not None and row["visited_at"] is None
    note = result.tables()["record_notes"][0]
    assert note["at"] is None and note["extra"] == {"at": "2026-11-23 10:00"}  # raw kept


# --- lax input -------------------------------------------------------------------------------


@pytest.mark.parametrize("cls", list(LABELS))
def test_every_code_and_every_zh_label_decode_to_the_member(cls: type[Coded]) -> None:
    for member in cls:
        assert cls.parse(member.value) is member
        assert cls.parse(member.label) is member
        assert cls.parse(f" {member.label} ") is member
    assert cls.parse("nonsense") is None and cls.parse(3) is None


def test_labels_are_per_enumeration() -> None:
    assert NeedStatus.RESOLVED.label == "已解决"
    assert CaseStatus.RESOLVED.label == "调解成功"
    assert HouseholdTag.parse("托育") is HouseholdTag.CHILDCARE_NEED


def test_yjs_floats_become_ints_and_bools() -> None:
    record = new("household", {"members": [{"name": "甲", "birth_year": 1941}]})
    # pycrdt's own reading hands numbers back as floats (1941.0); readers must take both.
    fields = record.doc.get("fields", type=Map).to_py()
    assert isinstance(fields["members"][0]["birth_year"], float)
    result = decode(record.id, {**to_plain(record.doc), "fields": fields})
    assert result.issues == []
    (member,) = result.tables()["household_members"]
    assert member["birth_year"] == 1941 and type(member["birth_year"]) is int

    case = to_plain(new("case", {"title": "欠薪"}).doc)
    row = decode("d", {**case, "fields": {"title": "欠薪", "urgent": 1.0}}).main_row
    assert row is not None and row["urgent"] is True
    half = decode("d", {**case, "fields": {"title": "欠薪", "urgent": 0.5}})
    assert paths(half) == ["fields.urgent"]


def test_a_fractional_birth_year_is_an_issue() -> None:
    result = decoded(new("household", {"members": [{"name": "甲", "birth_year": 1990.5}]}))
    assert paths(result) == ["fields.members[0].birth_year"]


# --- notes -------------------------------------------------------------------------------------


def test_notes_as_plain_json_and_as_nested_ymaps_both_project() -> None:
    record = new("case", {"title": "物业费争议"})
    record.add_note("到现场查看漏水", kind="mediation", method="现场", next_step="约物业面谈")
    stock = {
        "id": "n-2",
        "by": "李调解员",
        "at": "2026-11-24T15:00:00+08:00",
        "kind": "mediation",
        "text": "电话沟通" + RARE,
        "method": "phone",
        "attachments": ["a.jpg"],
    }
    record.doc.get("notes", type=Array).append(Map(stock))  # how some Yjs apps write it
    result = decoded(record)

    assert result.issues == []
    first, second = result.tables()["record_notes"]
    assert (first["position"], first["kind"], first["method"]) == (0, "mediation", "on_site")
    assert first["extra"] == {"next_step": "约物业面谈"}
    assert first["by"] == "王芳" and first["at"].tzinfo is UTC
    assert (second["note_id"], second["by"], second["method"]) == ("n-2", "李调解员", "phone")
    assert second["text"] == "电话沟通" + RARE
    assert second["at"] == datetime(2026, 11, 24, 7, 0, tzinfo=UTC)
    assert second["extra"] == {"attachments": ["a.jpg"]}


def test_malformed_notes_still_get_a_row_each() -> None:
    notes = [
        "just text",
        {"id": "n1", "by": "甲", "at": "2026-11-23T09:00:00+08:00", "text": "好"},
        {"id": "n1", "by": 7, "at": "yesterday", "text": "重复编号", "method": "飞鸽"},
        {},
    ]
    content = to_plain(new("case", {"title": "t"}).doc)
    result = decode("d", {**content, "notes": notes})

    rows = result.tables()["record_notes"]
    assert [row["position"] for row in rows] == [0, 1, 2, 3]
    assert rows[0]["extra"] == {"value": "just text"}
    assert rows[1]["kind"] == "note"  # the default
    assert rows[2]["note_id"] == "n1" and rows[2]["by"] is None and rows[2]["method"] is None
    assert rows[2]["extra"] == {"at": "yesterday", "by": 7, "method": "飞鸽"}
    assert set(paths(result)) == {
        "notes[0]",
        "notes[2].by",
        "notes[2].at",
        "notes[2].method",
        "notes[2].id",
        "notes[3].id",
        "notes[3].by",
        "notes[3].at",
        "notes[3].text",
    }


# --- conflicts -----------------------------------------------------------------------------


def test_concurrent_writes_open_a_conflict_and_a_write_that_saw_both_resolves_it() -> None:
    alice = new("household", {"phone": "13800138000"}, author="王芳")
    bob = fork(alice, "李明")
    alice.set("phone", "13911112222")
    bob.set("phone", "0571-88888888")
    exchange(alice, bob)

    result = decoded(alice)
    assert decoded(bob).tables() == result.tables()
    (conflict,) = conflicts_of(result, "open")
    values = {entry["value"]: entry["by"] for entry in conflict["entries"]}
    assert values == {"13911112222": "王芳", "0571-88888888": "李明"}
    assert conflict["field"] == "phone" and conflict["resolved_by"] is None
    assert conflict["current_value"] == alice.get("phone")  # what Yjs chose
    row = result.main_row
    assert row is not None and row["has_conflict"] is True

    bob.set("phone", "13911112222")  # a coordinator picked one: the new write saw both
    after = decoded(bob)
    assert conflicts_of(after, "open") == []
    (resolved,) = conflicts_of(after, "resolved")
    assert resolved["conflict_id"] == conflict["conflict_id"]  # the same conflict, now closed
    assert resolved["resolved_by"] == after.tables()["field_history"][-1]["entry_id"]
    assert resolved["entries"] == conflict["entries"]
    assert resolved["current_value"] == "13911112222"
    row = after.main_row
    assert row is not None and row["has_conflict"] is False


def test_three_tablets_make_a_three_way_conflict() -> None:
    first = new("case", {"title": "漏水", "status": "mediating"})
    second, third = fork(first, "乙"), fork(first, "丙")
    first.set("status", "resolved")
    second.set("status", "failed")
    third.set("status", "escalated")
    exchange(first, second, third)

    (conflict,) = conflicts_of(decoded(third), "open")
    assert sorted(entry["value"] for entry in conflict["entries"]) == [
        "escalated",
        "failed",
        "resolved",
    ]
    third.set("status", "escalated")
    result = decoded(third)
    assert conflicts_of(result, "open") == []
    assert len(conflicts_of(result, "resolved")[0]["entries"]) == 3


def test_a_resolution_that_missed_a_write_leaves_that_one_in_conflict() -> None:
    first = new("household", {"room": "501"})
    second, third = fork(first, "乙"), fork(first, "丙")
    first.set("room", "502")
    second.set("room", "503")
    third.set("room", "504")
    exchange(first, second)
    first.set("room", "503")  # resolves 502/503, never saw 504
    exchange(first, third)

    result = decoded(first)
    (resolved,) = conflicts_of(result, "resolved")
    assert sorted(e["value"] for e in resolved["entries"]) == ["502", "503"]
    (still_open,) = conflicts_of(result, "open")
    assert sorted(e["value"] for e in still_open["entries"]) == ["503", "504"]


def test_identical_concurrent_values_are_no_conflict() -> None:
    alice = new("visit", {"household": HOUSEHOLD_ID})
    bob = fork(alice, "李明")
    alice.set("purpose", "回访")
    bob.set("purpose", "回访")
    exchange(alice, bob)

    result = decoded(alice)
    assert result.tables()["conflicts"] == []
    assert len(alice.current_writes("purpose")) == 2  # concurrent, but they agree


def test_sequential_writes_are_history_not_conflict() -> None:
    record = new("case", {"title": "t", "status": "registered"})
    for status in ("accepted", "mediating", "resolved", "closed"):
        record.set("status", status)
    result = decoded(record)
    assert result.tables()["conflicts"] == []
    history = [h["value"] for h in result.tables()["field_history"] if h["field"] == "status"]
    assert history == ["registered", "accepted", "mediating", "resolved", "closed"]


# --- text comes through byte for byte --------------------------------------------------------


def test_rare_characters_emoji_and_mixed_scripts_survive_byte_for_byte() -> None:
    record = new("visit", {"household": HOUSEHOLD_ID, "findings": RARE, "visitor": "𪚥" * 100})
    record.add_note(RARE)
    result = decoded(record)

    assert result.issues == []  # 100 rare characters fit a 100-character name
    row = result.main_row
    assert row is not None
    assert row["findings"].encode("utf-8") == RARE.encode("utf-8")
    assert result.tables()["record_notes"][0]["text"].encode("utf-8") == RARE.encode("utf-8")
    history = {h["field"]: h["value"] for h in result.tables()["field_history"]}
    assert history["findings"] == RARE


# --- unknown kinds and the SQL schema ----------------------------------------------------------


def test_a_document_of_unknown_kind_has_only_the_common_tables() -> None:
    result = decode("d", {"meta": {"kind": "pet", "grid": GRID}, "notes": [{"text": "x"}]})
    assert result.kind is None and result.main_row is None
    assert set(result.tables()) == set(COMMON_TABLES)
    assert "meta.kind" in paths(result)
    assert len(result.tables()["record_notes"]) == 1


def test_the_structs_hold_the_same_rules() -> None:
    visit = msgspec.convert({"household": HOUSEHOLD_ID, "purpose": "routine"}, Visit)
    assert str(visit.household) == HOUSEHOLD_ID and visit.needs == []
    with pytest.raises(msgspec.ValidationError):
        msgspec.convert({"type": "other"}, Case)  # a case needs its title


def assert_fits_the_schema(result: Decoded) -> None:
    """Every row has exactly its table's columns, with values the column can store."""
    tables = result.tables()
    for name, rows in tables.items():
        table = metadata.tables[name]
        for row in rows:
            assert set(row) == set(table.c.keys()), name
            for column in table.c:
                assert_storable(column, row[column.name])


def assert_storable(column: sa.Column[Any], value: Any) -> None:
    where = f"{column.table.name}.{column.name}"
    if value is None:
        assert column.nullable, where
        return
    kind = column.type
    if isinstance(kind, sa.JSON):
        json.dumps(value, allow_nan=False)
    elif isinstance(kind, sa.String):  # Text too
        assert isinstance(value, str), where
        assert "\x00" not in value, where
        value.encode("utf-8")  # no unpaired surrogate
        assert kind.length is None or len(value) <= kind.length, where
    elif isinstance(kind, UtcDateTime):
        assert isinstance(value, datetime) and value.tzinfo is UTC, where
    elif isinstance(kind, sa.Boolean):
        assert isinstance(value, bool), where
    elif isinstance(kind, sa.Integer):
        assert type(value) is int and -(2**31) <= value < 2**31, where
    elif isinstance(kind, sa.Double):
        assert isinstance(value, float) and math.isfinite(value), where
    elif isinstance(kind, sa.Date):
        assert type(value) is date, where
    else:
        raise AssertionError(f"no check for {where}")


@pytest.mark.parametrize("kind", list(MAIN_TABLES))
def test_rows_of_every_kind_fit_the_sql_schema(kind: RecordKind) -> None:
    fields: dict[str, dict[str, Any]] = {
        "household": {"phone": "0571-88888888", "members": [{"name": "甲"}], "tags": ["党员"]},
        "visit": {"household": HOUSEHOLD_ID, "gps": {"lat": 1, "lon": 2}, "needs": [{}]},
        "case": {"title": "t", "parties": [{"role": "其他"}], "deadline": "2026-12-31"},
    }
    alice = new(kind, fields[kind])
    bob = fork(alice, "李明")
    alice.add_note("x", method="电话")
    alice.set("extra_field", 1)
    bob.set("extra_field", 2)
    exchange(alice, bob)
    alice.set("extra_field", 3)
    result = decoded(alice)
    assert result.tables()["conflicts"] and result.issues
    assert_fits_the_schema(result)


# --- hostile tablets -------------------------------------------------------------------------

# NUL (PostgreSQL text refuses it), unpaired surrogates (not UTF-8), rare characters.
NASTY = ["\x00", "\ud800", "\udfff", "𠀀", "王", "😀", "\n", " ", "a", "1", "-"]
any_text = st.text(max_size=30) | st.text(st.sampled_from(NASTY), max_size=8)
json_values = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(min_value=-(2**70), max_value=2**70)
    | st.floats()
    | any_text,
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(any_text, children, max_size=4)
    ),
    max_leaves=12,
)
field_names = st.sampled_from(
    ["phone", "household", "members", "tags", "needs", "gps", "title", "parties", "urgent",
     "visited_at", "purpose", "level", "status"]
)  # fmt: skip


def mostly(good: st.SearchStrategy[Any]) -> st.SearchStrategy[Any]:
    """Usually `good`, sometimes any JSON at all."""
    return st.integers(0, 4).flatmap(lambda n: json_values if n == 4 else good)


plausible = st.sampled_from(
    [
        "13800138000",
        HOUSEHOLD_ID,
        "关爱探访",
        "2026-11-23T09:30:00+08:00",
        {"lat": 30.0, "lon": 120.0},
        [{"name": "甲", "birth_year": 1990.0}, {"category": "养老", "status": "x"}, 3],
        [{"name": "乙", "role": "申请人"}],
        ["党员", "x"],
        "street",
        1.0,
        True,
    ]
)
log_entries = st.fixed_dictionaries(
    {
        "id": mostly(st.sampled_from(["a", "b", "c", "d", "e"])),
        "f": mostly(st.sampled_from(["phone", "title", "tags"])),
        "v": mostly(st.sampled_from(["x", "y", 1.0, 1])),
        "prev": mostly(st.lists(st.sampled_from(["a", "b", "c", "d", "e"]), max_size=3)),
    },
    optional={
        "by": mostly(any_text),
        "at": mostly(st.sampled_from(["2026-11-23T09:30:00+08:00", "0001-01-01T00:00:00+08:00"])),
    },
)
notes = st.fixed_dictionaries(
    {},
    optional={
        "id": mostly(st.sampled_from(["n1", "n2"])),
        "by": mostly(any_text),
        "at": mostly(st.just("2026-11-23T09:30:00+08:00")),
        "kind": json_values,
        "text": mostly(any_text),
        "method": mostly(st.sampled_from(["电话", "fax"])),
        "next_step": json_values,
    },
)
metas = st.fixed_dictionaries(
    {"kind": mostly(st.sampled_from(["household", "visit", "case"]))},
    optional={
        "grid": mostly(st.just(GRID)),
        "created_by": mostly(any_text),
        "created_at": mostly(st.just("2026-11-23T09:30:00.000+08:00")),
    },
)
contents = st.fixed_dictionaries(
    {
        "meta": mostly(metas),
        "fields": mostly(st.dictionaries(field_names | any_text, mostly(plausible), max_size=8)),
        "log": mostly(st.lists(mostly(log_entries), max_size=8)),
        "notes": mostly(st.lists(mostly(notes), max_size=4)),
    },
    optional={"review": json_values},
)


def reordered(value: Any) -> Any:
    """The same JSON with every object's keys in reverse order (replicas may differ)."""
    if isinstance(value, dict):
        return {key: reordered(value[key]) for key in reversed(list(value))}
    if isinstance(value, list):
        return [reordered(item) for item in value]
    return value


VISIT_META = {"kind": "visit", "grid": GRID, "created_at": "2026-11-23T09:30:00+08:00"}


@settings(max_examples=400, suppress_health_check=[HealthCheck.too_slow])
@given(contents)
@example({"meta": VISIT_META, "fields": {"gps": {"": None, "0": None}}})  # error order
@example({"meta": [], "log": [{"id": "a", "f": "phone", "v": "x", "prev": [], "at": "\ud800"}]})
def test_hostile_content_never_raises_and_keeps_every_note_and_log_entry(
    content: dict[str, Any],
) -> None:
    result = decode("11111111-2222-3333-4444-555555555555", content)

    tables = result.tables()
    if isinstance(content.get("notes"), list):
        assert len(tables["record_notes"]) == len(content["notes"])
    if isinstance(content.get("log"), list):
        assert len(tables["field_history"]) == len(content["log"])
    assert len(tables["validation_issues"]) == len(result.issues)
    assert_fits_the_schema(result)
    assert decode(result.doc_id, reordered(content)).tables() == tables


@given(json_values)
def test_any_json_at_all_is_decoded(content: Any) -> None:
    result = decode("d", content)
    assert result.kind is None or isinstance(content, dict)
    assert_fits_the_schema(result)


def test_json_safe_makes_yjs_values_storable_json() -> None:
    value = {"b": [1.0, 2.5, math.nan, -math.inf], "a": b"\x00\xff", 3: None}
    assert json_safe(value) == {
        "3": None,
        "a": {"$bytes": "AP8="},
        "b": [1, 2.5, "NaN", "-Infinity"],
    }
    assert list(json_safe(value)) == ["3", "a", "b"]
    # What JSON reads back: a surrogate pair is one character, a lone surrogate stays.
    assert json_safe("\ud840\udc00 \ud800") == "𠀀 \ud800"


def test_the_review_state_written_by_the_server_is_projected() -> None:
    content = {"meta": {"kind": "visit", "grid": "G1"}, "review": {"state": "approved"}}
    assert decode("d", content).main_row["review_state"] == "approved"  # type: ignore[index]
    assert decode("d", {**content, "review": {}}).main_row["review_state"] is None  # type: ignore[index]
