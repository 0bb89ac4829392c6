"""Rows for the review endpoints: REVIEW decides (a coordinator's session or device, a street
officer's session), a record outside the caller's grids is answered like an absent one."""

import httpx

from .probe import Ask, Probe, Row, answers, expect, row
from .world import REVIEW

APPROVE = {"action": "approve"}


def _visit(p: Probe, grid: str) -> str:
    return p.world.seeded[grid]["visits"] if grid in p.world.seeded else "0" * 32


async def approve_own(p: Probe) -> Ask:
    return Ask("POST", f"/api/visits/{_visit(p, p.who.home)}/review", json=APPROVE)


async def approve_foreign(p: Probe) -> Ask:
    return Ask("POST", f"/api/visits/{_visit(p, p.who.foreign)}/review", json=APPROVE)


async def approve_both(p: Probe) -> Ask:
    ids = [_visit(p, p.who.home), _visit(p, p.who.foreign)]
    return Ask("POST", "/api/visits/review", json={"doc_ids": ids, **APPROVE})


async def approved_own_only(p: Probe, response: httpx.Response, ask: Ask) -> None:
    expect(response, 200)
    results = [(r["status"], r.get("reason")) for r in response.json()["results"]]
    assert results == [("approved", None), ("refused", "unknown_record")], results


async def resolve_unknown(p: Probe) -> Ask:
    path = f"/api/visits/{_visit(p, p.who.home)}/conflicts/{'0' * 40}/resolve"
    return Ask("POST", path, json={"value": "矩阵"})


REVIEW_ROWS: list[Row] = [
    row("POST /api/visits/<own>/review", {REVIEW}, approve_own, answers(200), writes=True),
    row(
        "POST /api/visits/<outside>/review",
        {REVIEW},
        approve_foreign,
        answers(404, "unknown_record"),
    ),
    row("POST /api/visits/review (bulk)", {REVIEW}, approve_both, approved_own_only, writes=True),
    row(
        "POST /api/visits/<own>/conflicts/<none>/resolve",
        {REVIEW},
        resolve_unknown,
        answers(404, "unknown_conflict"),
    ),
]
