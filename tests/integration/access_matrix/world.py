"""The world the access matrix runs in: an org tree, records in four of its grids, and the
names of what callers may do and which credential they hold."""

from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path

import sqlalchemy as sa

from server.access.org import Level, Unit
from server.db.access_tables import accounts
from server.records.personal_data import mask

from ..harness import Harness, Person, org
from ..test_projection import settled

TREE = [
    Unit("S-LP", "临平街道", Level.STREET),
    Unit("C-A", "东湖社区", Level.COMMUNITY, "S-LP"),
    Unit("C-B", "西湖社区", Level.COMMUNITY, "S-LP"),
    Unit("G-A1", "东湖一网格", Level.GRID, "C-A"),
    Unit("G-A2", "东湖二网格", Level.GRID, "C-A"),
    Unit("G-B1", "西湖一网格", Level.GRID, "C-B"),
    Unit("G-B2", "西湖二网格", Level.GRID, "C-B"),
    # Another street: outside even the street officer's reach.
    Unit("S-X", "塘栖镇", Level.STREET),
    Unit("C-X", "塘栖社区", Level.COMMUNITY, "S-X"),
    Unit("G-X1", "塘栖一网格", Level.GRID, "C-X"),
]
SEEDED = ["G-A1", "G-A2", "G-B1", "G-X1"]  # grids whose tablets wrote records
KINDS = {"household": "households", "visit": "visits", "case": "cases"}
# Which personal values each kind's detail shows (masked unless revealed).
PERSONAL = {"households": ["phone", "id_number"], "visits": [], "cases": ["contact"]}

# Abilities: what the design says each role may do; and what each credential is.
SYNC, READ, REVEAL, REVIEW, DEVICES, ADMIN = "sync", "read", "reveal", "review", "devices", "admin"
DEVICE, SESSION, MACHINE = "device", "session", "machine"


# --- the world: records in four grids, and who calls --------------------------------------


@dataclass
class World:
    harness: Harness
    seeded: dict[str, dict[str, str]] = field(default_factory=dict)  # grid → kind → doc id
    docs: dict[str, tuple[str, str]] = field(default_factory=dict)  # doc id → (kind, grid)
    # Grid → strings only its records hold: personal values, and what names the record.
    values: dict[str, list[str]] = field(default_factory=dict)
    names: dict[str, list[str]] = field(default_factory=dict)
    personal: dict[str, dict[str, str]] = field(default_factory=dict)  # grid → key → value
    accounts: dict[str, str] = field(default_factory=dict)  # grid → its tablet's account id
    made: int = 0  # for unique names of things rows create

    def unique(self, prefix: str) -> str:
        self.made += 1
        return f"{prefix}{self.made}"

    def ids(self, kind: str, grids: set[str]) -> set[str]:
        return {d for d, (k, g) in self.docs.items() if k == kind and g in grids}

    def author(self, grid: str) -> str:
        return f"网格员{grid}"


@dataclass
class Who:
    label: str
    can: set[str]
    grids: set[str]
    headers: dict[str, str]
    mint: Callable[[], Awaitable[dict[str, str]]]  # a new credential of the same kind
    someone: Person | None = None

    @property
    def home(self) -> str:
        return min(self.grids) if self.grids else "G-A1"

    @property
    def foreign(self) -> str:
        """The nearest seeded grid outside the caller's reach."""
        return next(g for g in ("G-A2", "G-B1", "G-X1") if g not in self.grids)


async def seed(harness: Harness, tmp_path: Path) -> World:
    await org(harness, *TREE)
    world = World(harness)
    for n, grid in enumerate(SEEDED, start=1):
        tablet, _ = await harness.tablet(tmp_path / f"{grid}.sqlite3", grid, world.author(grid))
        personal = {
            "phone": f"1380000{n:04d}",
            "id_number": f"33010219800101{n:03d}X",
            "contact": f"1390000{n:04d}",
        }
        plain = [f"户主{grid}", f"成员{grid}", f"走访情况{grid}", f"纠纷{grid}", f"当事人{grid}"]
        member = {"name": plain[1], "relation": "配偶", "id_number": personal["id_number"]}
        home = tablet.new_record(
            "household",
            grid,
            {"head_name": plain[0], "phone": personal["phone"], "members": [member]},
        )
        visit = tablet.new_record(
            "visit", grid, {"household": home.id, "purpose": "care_visit", "findings": plain[2]}
        )
        # An unknown type: every seeded case has an issue, for `has_issues`.
        case = tablet.new_record("case", grid, {"title": plain[3], "type": "bogus"})
        case.set(
            "parties", [{"name": plain[4], "role": "applicant", "contact": personal["contact"]}]
        )
        await tablet.sync()
        await tablet.close()
        world.seeded[grid] = {"households": home.id, "visits": visit.id, "cases": case.id}
        world.docs.update({r.id: (KINDS[r.kind], grid) for r in (home, visit, case)})
        world.personal[grid] = personal
        world.values[grid] = plain + list(personal.values()) + [mask(v) for v in personal.values()]
        world.names[grid] = [grid, world.author(grid), home.id, visit.id, case.id]
        world.accounts[grid] = await _account_named(harness, world.author(grid))
    await settled(harness)
    return world


async def _account_named(harness: Harness, prefix: str) -> str:
    async with harness.services.database.connect() as connection:
        found = await connection.scalar(
            sa.select(accounts.c.id).where(accounts.c.username.startswith(f"{prefix}-"))
        )
    assert found is not None
    return str(found)
