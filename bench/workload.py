"""A grid member's day of offline work, made with the tablet SDK (before any clock starts).

One day is 30 visits, 5 new households and 3 mediation cases: 38 record documents of
6–10 string fields, half of them 100–300 Chinese characters, and 1–3 notes each. The
SDK writes one `log` entry per field write; every note is its own outbox update.
"""

import random
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from tablet import Record, Tablet

DAY = (("visit", 30), ("household", 5), ("case", 3))

# Phrases a grid member writes; joined at random into long free-text fields.
_PHRASES = (
    "居民反映楼道堆放杂物影响通行",
    "邻里之间因噪音问题产生矛盾",
    "已上门沟通并做好记录",
    "双方同意由社区组织调解",
    "网格员将于下周再次跟进",
    "老人独居需要定期探访",
    "家庭经济困难正在申请低保",
    "子女在外地工作很少回家",
    "房屋屋顶漏水物业未及时维修",
    "停车位归属存在争议",
    "养犬扰民影响休息",
    "垃圾分类宣传已入户讲解",
    "疫苗接种情况已核实",
    "流动人口信息已登记",
    "楼上住户装修时间过长",
    "建议联系街道司法所协助",
    "当事人情绪较为激动",
    "已告知相关政策和办理流程",
    "孩子上学接送存在困难",
    "医保报销材料尚未备齐",
    "独居老人行动不便需要助餐",
    "租户与房东就押金退还发生纠纷",
    "电动车在楼道充电存在安全隐患",
    "已提醒注意用火用电安全",
)
_PUNCTUATION = "，。；"
_SURNAMES = "王李张刘陈杨黄赵吴周徐孙马朱胡郭何林高罗"
_GIVEN = "伟芳娜敏静丽强磊军洋勇艳杰娟涛明超秀英华平刚桂兰"
_STREETS = ("幸福路", "建设街", "和平里", "解放北路", "文化巷", "新华街")
_STATUSES = ("待跟进", "已完成", "处理中", "已转办")
_METHODS = ("上门", "电话", "调解室", "现场")

# Field names per kind: free text first, then short values.
_LONG = {
    "visit": ("situation", "needs", "follow_up", "remarks", "living_conditions"),
    "household": ("situation", "income_note", "special_needs", "remarks", "housing_note"),
    "case": ("description", "history", "agreement", "remarks", "parties_statement"),
}
_SHORT = {
    "visit": ("visitor", "address", "visit_date", "purpose", "phone", "status"),
    "household": ("head_name", "address", "phone", "members", "housing", "status"),
    "case": ("title", "party_a", "party_b", "category", "location", "status"),
}


@dataclass(slots=True)
class BuiltTablet:
    """What one tablet made offline, kept to check the run against."""

    path: Path
    author: str
    grid: str
    doc_sizes: list[int] = field(default_factory=list)
    update_bytes: int = 0
    update_count: int = 0
    # Document id → `record.to_plain()` as the tablet left it.
    expected: dict[str, dict[str, Any]] = field(default_factory=dict)


def _long_text(rng: random.Random, low: int, high: int) -> str:
    length = rng.randint(low, high)
    parts: list[str] = []
    size = 0
    while size < length:
        part = rng.choice(_PHRASES) + rng.choice(_PUNCTUATION)
        parts.append(part)
        size += len(part)
    return "".join(parts)[:length]


def _short_value(rng: random.Random, name: str) -> str:
    if name == "phone":
        return "1" + "".join(rng.choice("0123456789") for _ in range(10))
    if name in ("address", "location"):
        return f"{rng.choice(_STREETS)}{rng.randint(1, 300)}号{rng.randint(1, 20)}单元"
    if name == "visit_date":
        return f"2026-11-{rng.randint(1, 30):02d}"
    if name == "members":
        return str(rng.randint(1, 7))
    if name == "status":
        return rng.choice(_STATUSES)
    if name in ("visitor", "head_name", "party_a", "party_b"):
        return rng.choice(_SURNAMES) + "".join(rng.choices(_GIVEN, k=rng.randint(1, 2)))
    return _long_text(rng, 8, 40)


def make_fields(rng: random.Random, kind: str) -> dict[str, str]:
    """6–10 string fields, half of them 100–300 Chinese characters."""
    count = rng.randint(6, 10)
    long_names = rng.sample(_LONG[kind], count // 2)
    short_names = rng.sample(_SHORT[kind], count - count // 2)
    fields = {name: _long_text(rng, 100, 300) for name in long_names}
    fields.update({name: _short_value(rng, name) for name in short_names})
    return fields


def make_notes(rng: random.Random, kind: str) -> list[dict[str, str]]:
    """1–3 notes; mediation notes carry the method and the next step."""
    notes = []
    for _ in range(rng.randint(1, 3)):
        note = {"text": _long_text(rng, 150, 350)}
        if kind == "case":
            note.update(
                kind="mediation",
                method=rng.choice(_METHODS),
                next_step=_long_text(rng, 10, 30),
            )
        else:
            note["kind"] = "follow-up" if rng.random() < 0.3 else "note"
        notes.append(note)
    return notes


def make_record(rng: random.Random, tablet: Tablet, kind: str, grid: str) -> Record:
    """A new record with its fields (one update) and its notes (one update each)."""
    record = tablet.new_record(kind, grid, make_fields(rng, kind))
    for note in make_notes(rng, kind):
        text = note.pop("text")
        record.add_note(text, **note)
    return record


def edit_record(rng: random.Random, record: Record) -> None:
    """A follow-up on an earlier record: one field rewritten (free text stays free text),
    or one more note, each its own update as the SDK sends them."""
    fields = record.fields
    if fields and rng.random() < 0.6:
        name = rng.choice(sorted(fields))
        long = name in _LONG.get(record.kind, ())
        record.set(name, _long_text(rng, 100, 300) if long else _short_value(rng, name))
        return
    note = make_notes(rng, record.kind)[0]
    text = note.pop("text")
    record.add_note(text, **note)


async def build_tablet(path: Path, author: str, grid: str, seed: int) -> BuiltTablet:
    """Make one tablet's day into its own local store (`path`), nothing sent."""
    rng = random.Random(seed)
    built = BuiltTablet(path, author, grid)
    async with Tablet(path, "http://offline.invalid", "", author=author) as tablet:
        for kind, count in DAY:
            for _ in range(count):
                record = make_record(rng, tablet, kind, grid)
                built.doc_sizes.append(len(record.doc.get_update()))
                built.expected[record.id] = record.to_plain()
        outbox = tablet.store.unsent(1 << 40, 1 << 30)
        built.update_count = len(outbox)
        built.update_bytes = sum(len(entry.data) for entry in outbox)
    return built
