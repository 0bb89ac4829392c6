"""The document cache's memory estimate against what loaded documents really take.

Each shape is loaded into a `DocCache` the way the engine loads documents (a guard on
each, the updates applied one by one, the applied bytes grown), in a fresh interpreter
that measures its own resident memory before and after: a process that ran other tests
would reuse memory they freed and measure too little.
"""

import ctypes.util
import pickle
import subprocess
import sys
import uuid
from collections.abc import Callable
from pathlib import Path

import pytest
from pycrdt import Array, Doc, Map

from tablet.record import Record

ROOT = Path(__file__).resolve().parents[2]
COUNT = 300

_MEASURE = """
import ctypes, gc, pickle, sys
from pycrdt import Doc
from sync.cache import DocCache, Loaded
from sync.guard import Guard
from sync.limits import Limits

documents = pickle.load(sys.stdin.buffer)
gc.collect()
ctypes.CDLL("libc.so.6").malloc_trim(0)


def resident():
    with open("/proc/self/statm") as statm:
        return int(statm.read().split()[1]) * 4096


before = resident()
cache = DocCache(1 << 40, Limits().doc_cost_factor)
for index, updates in enumerate(documents):
    entry = Loaded(Doc())
    entry.guard = Guard(entry.doc)
    for update in updates:
        entry.guard.arm(deletes=False)
        entry.doc.apply_update(update)
    cache.grow(entry, sum(len(update) for update in updates))
    cache.put(str(index), entry)
gc.collect()
print(resident() - before, cache.total)
"""

_TEXT = "居民反映楼道堆放杂物影响通行，邻里之间因噪音问题产生矛盾。已上门沟通并做好记录；"


def _recorded(build: Callable[[Doc], None]) -> list[bytes]:
    doc: Doc = Doc()
    updates: list[bytes] = []
    doc.observe(lambda event: updates.append(event.update))
    build(doc)
    return updates


def sdk_record(index: int, edits: int) -> list[bytes]:
    """A visit as the tablet SDK writes it: fields and their log entries, notes, edits."""
    updates: list[bytes] = []
    record = Record(str(uuid.uuid4()), Doc(), "member", lambda _, u: updates.append(u))
    long_text = (_TEXT * 8)[index % 50 : index % 50 + 200]
    fields = {f"long_{n}": long_text for n in range(4)}
    fields.update({"phone": f"138{index:08d}", "status": "待跟进", "address": "幸福路12号"})
    record.initialise("visit", "G1", fields)
    for note in range(2):
        record.add_note(long_text[note:], kind="follow-up")
    for edit in range(edits):
        record.set(f"long_{edit % 4}", long_text[edit:])
    return updates


def nested_map_log(index: int) -> list[bytes]:
    """A stock Yjs app's record: log entries as nested Y.Maps, with short values."""

    def build(doc: Doc) -> None:
        with doc.transaction():
            doc["meta"] = Map({"kind": "visit", "grid": "G1"})
            doc["fields"] = Map()
            doc["log"] = Array()
        for write in range(20):
            with doc.transaction():
                doc["fields"][f"f{write % 8}"] = str(write)
                entry = {"id": str(uuid.uuid4()), "f": f"f{write % 8}", "v": str(write)}
                entry.update(by="member", at=f"2026-11-{index % 28 + 1:02d}T10:00:00+08:00")
                doc["log"].append(Map({**entry, "prev": Array([str(uuid.uuid4())])}))

    return _recorded(build)


def many_keys(index: int) -> list[bytes]:
    def build(doc: Doc) -> None:
        doc["fields"] = fields = Map()
        for key in range(200):
            fields[f"k{key}"] = index + key

    return _recorded(build)


SHAPES: dict[str, Callable[[int], list[bytes]]] = {
    "empty": lambda _: [],
    "sdk record": lambda index: sdk_record(index, edits=0),
    "sdk record, 10 edits": lambda index: sdk_record(index, edits=10),
    "nested Y.Map log": nested_map_log,
    "200 map keys": many_keys,
}
# The records the SDK writes: the estimate must not be far above what they take either,
# or the cache would hold far fewer documents than its budget allows.
HONEST = {"sdk record": 1.5, "sdk record, 10 edits": 2.0}


def _measure(documents: list[list[bytes]]) -> tuple[int, int]:
    """(resident bytes, the cache's estimate) of these documents loaded."""
    done = subprocess.run(
        [sys.executable, "-c", _MEASURE],
        input=pickle.dumps(documents),
        capture_output=True,
        cwd=ROOT,
        check=True,
        timeout=120,
    )
    resident, estimate = map(int, done.stdout.split())
    return resident, estimate


@pytest.mark.skipif(
    not sys.platform.startswith("linux") or ctypes.util.find_library("c") != "libc.so.6",
    reason="measures resident memory through /proc and glibc",
)
@pytest.mark.parametrize("shape", sorted(SHAPES))
def test_the_estimate_bounds_what_loaded_documents_take(shape: str) -> None:
    resident, estimate = _measure([SHAPES[shape](index) for index in range(COUNT)])
    assert resident > 0
    assert estimate >= resident, f"{shape}: {resident / COUNT:.0f} B each, estimated lower"
    if shape in HONEST:
        assert estimate <= HONEST[shape] * resident, f"{shape}: estimated far too high"
