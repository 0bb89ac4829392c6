"""Households (户) of a grid: who lives there, at which address, with which focus-group tags.

Compositions follow a typical old-town grid: many elderly couples and people living alone,
young families, three generations under one roof, renters who came for work (couriers,
delivery riders). Tags follow from the composition ("一老一小一新"), plus the occasional
低保, 残疾, 退役军人, 党员 …
"""

import random
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from schemas.enums import HouseholdTag as Tag
from server.demo import people
from server.demo.org import Grid
from server.demo.people import Address, Person

ELDERLY_TAGS = frozenset({Tag.LIVING_ALONE, Tag.EMPTY_NEST, Tag.VERY_OLD})
NEW_JOBS = ("外卖骑手", "快递员", "网约车司机", "即时配送员")


@dataclass(slots=True)
class Home:
    grid: str
    address: Address
    members: list[Person]
    phone: str
    tags: list[Tag]
    job: str | None = None
    # The household document's id, once a tablet made it.
    doc_id: str = ""
    # Open needs raised at earlier visits: the next visit follows them up.
    open_needs: list[str] = field(default_factory=list)

    @property
    def head(self) -> Person:
        return self.members[0]

    def fields(self) -> dict[str, Any]:
        """The household record's fields (schemas.records.Household)."""
        return {
            "compound": self.address.compound.name,
            "building": self.address.building,
            "unit": self.address.unit,
            "room": self.address.room,
            "head_name": self.head.name,
            "phone": self.phone,
            "members": [member_fields(member) for member in self.members],
            "tags": [tag.value for tag in self.tags],
        }

    def oldest(self) -> Person:
        return min(self.members, key=lambda member: member.birth_year)

    def children(self, year: int) -> list[Person]:
        return [member for member in self.members if member.age(year) < 16]


def member_fields(member: Person) -> dict[str, Any]:
    fields: dict[str, Any] = {
        "name": member.name,
        "relation": member.relation,
        "birth_year": member.birth_year,
    }
    if member.id_number:
        fields["id_number"] = member.id_number
    return fields


@dataclass(frozen=True, slots=True)
class Family:
    members: list[Person]
    job: str | None = None
    migrant: bool = False


Compose = Callable[[random.Random, int], Family]


def _couple(
    rng: random.Random, youngest: int, oldest: int, year: int, region: str = people.LOCAL_REGION
) -> list[Person]:
    born = year - rng.randint(youngest, oldest)
    male_head = rng.random() < 0.75
    head = people.person(rng, male=male_head, born=born, relation="户主", region=region)
    partner_born = born + rng.randint(-2, 4) * (1 if male_head else -1)
    partner = people.person(
        rng, male=not male_head, born=partner_born, relation="配偶", region=region
    )
    return [head, partner]


def _children(
    rng: random.Random, family: str, year: int, count: int, ages: tuple[int, int], grand: bool
) -> list[Person]:
    kids = []
    for _ in range(count):
        male = rng.random() < 0.5
        relation = ("孙子" if male else "孙女") if grand else ("子" if male else "女")
        born = year - rng.randint(*ages)
        kids.append(people.person(rng, male=male, born=born, relation=relation, family=family))
    return kids


def family_name(member: Person) -> str:
    """The surname: one character, or two for 欧阳, 司马 …"""
    return (
        member.name[:2] if member.name[:2] in ("欧阳", "司马", "上官", "诸葛") else member.name[0]
    )


def single_elder(rng: random.Random, year: int) -> Family:
    male = rng.random() < 0.35
    return Family([people.person(rng, male=male, born=year - rng.randint(68, 94), relation="户主")])


def elder_couple(rng: random.Random, year: int) -> Family:
    return Family(_couple(rng, 62, 88, year))


def middle_couple(rng: random.Random, year: int) -> Family:
    return Family(_couple(rng, 45, 64, year))


def young_family(rng: random.Random, year: int) -> Family:
    parents = _couple(rng, 28, 42, year)
    family = family_name(parents[0] if parents[0].male else parents[1])
    kids = _children(rng, family, year, rng.choice((1, 1, 2)), (0, 14), grand=False)
    job = rng.choice(NEW_JOBS) if rng.random() < 0.12 else None
    return Family(parents + kids, job)


def three_generations(rng: random.Random, year: int) -> Family:
    parents = _couple(rng, 33, 48, year)
    family = family_name(parents[0] if parents[0].male else parents[1])
    head_family = family_name(parents[0])  # the head's father has the head's surname
    elders = [
        people.person(
            rng,
            male=male,
            born=parents[0].birth_year - rng.randint(22, 32),
            relation=relation,
            family=head_family if male else None,
        )
        for male, relation in ((True, "父亲"), (False, "母亲"))
        if rng.random() < 0.75
    ]
    kids = _children(rng, family, year, rng.choice((1, 2)), (1, 16), grand=False)
    return Family(parents + elders + kids)


def left_behind(rng: random.Random, year: int) -> Family:
    grandparents = _couple(rng, 58, 75, year)[: rng.choice((1, 2))]
    family = family_name(grandparents[0])
    kids = _children(rng, family, year, rng.choice((1, 1, 2)), (4, 13), grand=True)
    return Family(grandparents + kids)


def renter(rng: random.Random, year: int) -> Family:
    region = rng.choice(people.MIGRANT_REGIONS)
    if rng.random() < 0.5:
        members = _couple(rng, 22, 38, year, region)
    else:
        born = year - rng.randint(20, 35)
        male = rng.random() < 0.7
        members = [people.person(rng, male=male, born=born, relation="户主", region=region)]
    job = rng.choice(NEW_JOBS) if rng.random() < 0.5 else None
    return Family(members, job, migrant=True)


COMPOSITIONS: tuple[tuple[Compose, float], ...] = (
    (single_elder, 12),
    (elder_couple, 15),
    (middle_couple, 15),
    (young_family, 25),
    (three_generations, 15),
    (left_behind, 5),
    (renter, 13),
)


def tags_for(rng: random.Random, family: Family, year: int) -> list[Tag]:
    members = family.members
    ages = [member.age(year) for member in members]
    tags: list[Tag] = []
    if min(ages) >= 60:
        tags.append(Tag.LIVING_ALONE if len(members) == 1 else Tag.EMPTY_NEST)
    if max(ages) >= 80:
        tags.append(Tag.VERY_OLD)
    if any(member.relation in ("孙子", "孙女") for member in members):
        tags.append(Tag.LEFT_BEHIND_CHILD)
    if any(age < 3 for age in ages) and rng.random() < 0.6:
        tags.append(Tag.CHILDCARE_NEED)
    if family.job:
        tags.append(Tag.NEW_EMPLOYMENT)
    if family.migrant:
        tags.append(Tag.MIGRANT)
    for tag, chance in (
        (Tag.SUBSISTENCE_ALLOWANCE, 0.04),
        (Tag.DISABILITY, 0.05),
        (Tag.FAMILY_IN_DIFFICULTY, 0.04),
        (Tag.VETERAN, 0.04),
        (Tag.PARTY_MEMBER, 0.12),
        (Tag.PERSON_OF_CONCERN, 0.01),
    ):
        if rng.random() < chance:
            tags.append(tag)
    return tags


def make_home(
    rng: random.Random, grid: Grid, year: int, taken: set[str], compose: Compose | None = None
) -> Home:
    """A household at a free address of the grid; of a typical composition unless given."""
    if compose is None:
        composers, weights = zip(*COMPOSITIONS, strict=True)
        compose = rng.choices(composers, weights)[0]
    family = compose(rng, year)
    where = people.address(rng, rng.choice(grid.compounds), taken)
    tags = tags_for(rng, family, year)
    return Home(grid.code, where, family.members, people.mobile(rng), tags, family.job)


def make_homes(
    rng: random.Random, grid: Grid, count: int, year: int, taken: set[str]
) -> list[Home]:
    return [make_home(rng, grid, year, taken) for _ in range(count)]
