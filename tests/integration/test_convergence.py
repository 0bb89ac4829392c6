"""Several tablets edit offline and sync in any order, with repeats and lost answers:
every tablet and the server end with identical documents."""

import asyncio
import contextlib
import tempfile
import uuid
from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from pycrdt import Doc

from sync.layout import to_plain
from tablet import SyncFailed, Tablet

from .harness import Harness, running_app

FIELDS = ["phone", "purpose", "findings"]
TABLETS = 3

text = st.text(
    alphabet=st.characters(codec="utf-8", exclude_categories=("Cs",)), max_size=12
) | st.sampled_from(["张三", "𠀀𪚥", "独居老人 🍚", "13800138000", ""])

action = st.one_of(
    st.tuples(st.just("create"), st.sampled_from(["household", "visit", "case"])),
    st.tuples(st.just("set"), st.integers(0, 20), st.sampled_from(FIELDS), text),
    st.tuples(st.just("note"), st.integers(0, 20), text),
    st.tuples(st.just("sync"), st.sampled_from(["ok", "lost-answer", "lost-request"])),
)
program = st.lists(st.tuples(st.integers(0, TABLETS - 1), action), min_size=1, max_size=25)


async def play(harness: Harness, folder: Path, steps: list[tuple[int, tuple[object, ...]]]) -> None:
    grid = f"G-{uuid.uuid4().hex[:8]}"  # examples share the database, not their grid
    pairs = [await harness.tablet(folder / f"t{i}.sqlite3", grid, f"员{i}") for i in range(TABLETS)]
    tablets = [tablet for tablet, _ in pairs]
    for index, step in steps:
        tablet, network = pairs[index]
        known = tablet.records()
        match step:
            case ("create", kind):
                tablet.new_record(str(kind), grid, {"purpose": "日常走访"})
            case ("set", pick, field, value) if known:
                known[int(pick) % len(known)].set(str(field), value)
            case ("note", pick, value) if known:
                known[int(pick) % len(known)].add_note(str(value))
            case ("sync", how):
                network.drop_answers = 2 if how == "lost-answer" else 0  # the retry too
                network.drop_requests = how == "lost-request"
                with contextlib.suppress(SyncFailed):
                    await tablet.sync()
    for _ in range(2):  # a second round carries what the first round's late syncers pushed
        for tablet in tablets:
            await tablet.sync()
    await check_converged(harness, tablets, grid)
    for tablet in tablets:
        await tablet.close()


async def check_converged(harness: Harness, tablets: list[Tablet], grid: str) -> None:
    views = [{r.id: r.to_plain() for r in tablet.records()} for tablet in tablets]
    assert all(view == views[0] for view in views)
    token = await harness.token(grid, "checker")
    for doc_id, content in views[0].items():
        response = await harness.client.get(
            f"/docs/{doc_id}/update", headers={"Authorization": f"Bearer {token}"}
        )
        server = Doc()
        server.apply_update(response.content)
        assert to_plain(server) == content
    for tablet in tablets:
        assert tablet.store.unsent_count() == 0 and tablet.store.refusals() == []


@settings(
    max_examples=25,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(steps=program)
def test_tablets_converge(database_url: str, steps: list[tuple[int, tuple[object, ...]]]) -> None:
    async def scenario() -> None:
        with tempfile.TemporaryDirectory() as folder:
            async with running_app(database_url) as harness:
                await play(harness, Path(folder), steps)

    asyncio.run(scenario())
