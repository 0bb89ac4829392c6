"""The org tree: street → community → grid, and the grids below a set of units."""

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from enum import StrEnum

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from server.access.audit import Actor, Audit
from server.access.principal import Principal
from server.db.access_tables import org_units
from server.db.engine import write_transaction
from server.errors import ClientError


class Level(StrEnum):
    STREET = "street"
    COMMUNITY = "community"
    GRID = "grid"

    @property
    def label(self) -> str:
        return LEVEL_LABELS[self]

    @property
    def parent_level(self) -> "Level | None":
        return {Level.COMMUNITY: Level.STREET, Level.GRID: Level.COMMUNITY}.get(self)

    @classmethod
    def parse(cls, value: str) -> "Level | None":
        value = value.strip()
        for level in cls:
            if value in (level.value, level.label):
                return level
        return None


LEVEL_LABELS = {Level.STREET: "街道", Level.COMMUNITY: "社区", Level.GRID: "网格"}


def below(roots: sa.Select[tuple[str]]) -> sa.CTE:
    """The units `roots` selects (as `code`) and every unit under them: a recursive CTE."""
    tree = roots.cte("below", recursive=True)
    child = org_units.alias("child")
    return tree.union(sa.select(child.c.code).join(tree, child.c.parent == tree.c.code))


async def grids_below(connection: AsyncConnection, roots: sa.Select[tuple[str]]) -> frozenset[str]:
    tree = below(roots)
    rows = await connection.execute(
        sa.select(org_units.c.code).where(
            org_units.c.code.in_(sa.select(tree.c.code)), org_units.c.level == Level.GRID
        )
    )
    return frozenset(rows.scalars())


async def grids_under_units(connection: AsyncConnection, units: Iterable[str]) -> frozenset[str]:
    return await grids_below(
        connection, sa.select(org_units.c.code).where(org_units.c.code.in_(list(units)))
    )


@dataclass(frozen=True, slots=True)
class Unit:
    code: str
    name: str
    level: Level
    parent: str | None = None


class OrgTree:
    """Maintained by admins; every change is audited in its own transaction."""

    def __init__(self, engine: AsyncEngine, audit: Audit) -> None:
        self._engine = engine
        self._audit = audit

    async def put(self, units: Sequence[Unit], by: Actor | Principal) -> list[str]:
        """Create or update units (parents before children); returns what changed."""
        changes: list[str] = []
        async with write_transaction(self._engine) as connection:
            for unit in units:
                changes.extend(await self._put_one(connection, unit, by))
        return changes

    async def units(self) -> dict[str, Unit]:
        """Every unit, by code."""
        async with self._engine.connect() as connection:
            rows = await connection.execute(sa.select(org_units).order_by(org_units.c.code))
            return {
                row.code: Unit(row.code, row.name, Level(row.level), row.parent) for row in rows
            }

    async def create(self, unit: Unit, by: Actor | Principal) -> None:
        """A new unit; unlike `put`, refuses a code already taken instead of changing it."""
        async with write_transaction(self._engine) as connection:
            taken = await connection.scalar(
                sa.select(org_units.c.level).where(org_units.c.code == unit.code)
            )
            if taken is not None:
                raise ClientError(409, "unit_exists", f"{unit.code} is already a {taken}")
            await self._put_one(connection, unit, by)

    async def put_missing(self, unit: Unit, by: Actor | Principal) -> None:
        async with write_transaction(self._engine) as connection:
            exists = await connection.scalar(
                sa.select(org_units.c.code).where(org_units.c.code == unit.code)
            )
            if exists is None:
                await self._put_one(connection, unit, by)

    async def _put_one(
        self, connection: AsyncConnection, unit: Unit, by: Actor | Principal
    ) -> list[str]:
        await _check_parent(connection, unit)
        old = (
            await connection.execute(sa.select(org_units).where(org_units.c.code == unit.code))
        ).first()
        values = {"name": unit.name, "level": unit.level.value, "parent": unit.parent}
        if old is None:
            await connection.execute(org_units.insert().values(code=unit.code, **values))
            action = "org_unit.created"
        elif old.level != unit.level:
            raise ClientError(
                400, "level_change", f"{unit.code} is a {old.level}; a unit keeps its level"
            )
        elif (old.name, old.parent) == (unit.name, unit.parent):
            return []
        else:
            await connection.execute(
                org_units.update().where(org_units.c.code == unit.code).values(values)
            )
            action = "org_unit.moved" if old.parent != unit.parent else "org_unit.renamed"
        await self._audit.record(
            action,
            by,
            target_kind="org_unit",
            target=unit.code,
            detail={
                **values,
                "was": None if old is None else {"name": old.name, "parent": old.parent},
            },
            connection=connection,
        )
        return [f"{action} {unit.code}"]


async def _check_parent(connection: AsyncConnection, unit: Unit) -> None:
    wanted = unit.level.parent_level
    if unit.parent is None:
        if wanted is not None and unit.level is not Level.GRID:
            raise ClientError(400, "parent_required", f"a {unit.level} needs a parent {wanted}")
        return
    parent_level = await connection.scalar(
        sa.select(org_units.c.level).where(org_units.c.code == unit.parent)
    )
    if parent_level is None:
        raise ClientError(400, "unknown_unit", f"no org unit {unit.parent}")
    if parent_level != wanted:
        raise ClientError(
            400, "wrong_parent", f"a {unit.level}'s parent is a {wanted}, not a {parent_level}"
        )
