"""The demo's people and their accounts: who serves which unit of the street, in what role.

Grid members and mediators carry tablets; coordinators, the street officer and the admin
work at a desk and log in with the one demo password. Every account is made through the
real access services, by the admin (the admin account itself as `doorstep admin create`
would make it), so the audit log reads like a real first setup.
"""

import random
from dataclasses import dataclass, field

from server.access.audit import CLI, Actor
from server.access.authenticate import Access
from server.access.org import Level, Unit
from server.access.roles import Role
from server.demo import people
from server.demo.org import Street

# For the demo only: every desk account of the demo shares this password.
DEMO_PASSWORD = "doorstep-demo"
# Roles that work at a desk (a password) rather than on a tablet (an enrolled device).
DESK_ROLES = frozenset({Role.COORDINATOR, Role.STREET_OFFICER, Role.ADMIN})


@dataclass(frozen=True, slots=True)
class Staffer:
    username: str
    name: str
    role: Role
    # The org unit served: a grid, a community, the street; "" for the admin (no unit).
    unit: str

    @property
    def password(self) -> str | None:
        return DEMO_PASSWORD if self.role in DESK_ROLES else None


@dataclass(slots=True)
class Crew:
    """Everyone with an account, and the device token of each one's tablet."""

    members: dict[str, Staffer] = field(default_factory=dict)  # grid code → member
    mediators: dict[str, Staffer] = field(default_factory=dict)  # community code → mediator
    coordinators: dict[str, Staffer] = field(default_factory=dict)  # community code → …
    desk: list[Staffer] = field(default_factory=list)  # the street officer, the admin
    tokens: dict[str, str] = field(default_factory=dict)  # username → device token

    @property
    def admin(self) -> Staffer:
        return next(staffer for staffer in self.desk if staffer.role is Role.ADMIN)

    def with_tablets(self) -> list[Staffer]:
        return [*self.members.values(), *self.mediators.values()]

    def everyone(self) -> list[Staffer]:
        return [*self.with_tablets(), *self.coordinators.values(), *self.desk]

    def by_role(self, role: Role) -> list[Staffer]:
        return [staffer for staffer in self.everyone() if staffer.role is role]


def hire(rng: random.Random, street: Street, year: int) -> Crew:
    """A member per grid; a mediator and a coordinator per community; a street officer and
    an admin. Everyone's name differs."""
    crew, names = Crew(), set[str]()

    def new_name(oldest: int, youngest: int) -> str:
        name = ""
        while not name or name in names:
            born = year - rng.randint(youngest, oldest)
            name = people.full_name(rng, rng.random() < 0.5, born)
        names.add(name)
        return name

    for community in street.communities:
        for grid in community.grids:
            crew.members[grid.code] = Staffer(
                f"member-{grid.code.lower()}", new_name(50, 24), Role.GRID_MEMBER, grid.code
            )
        code = community.code
        crew.mediators[code] = Staffer(
            f"mediator-{code.lower()}", new_name(63, 45), Role.MEDIATOR, code
        )
    for community in street.communities:
        code = community.code
        crew.coordinators[code] = Staffer(
            f"coordinator-{code.lower()}", new_name(55, 28), Role.COORDINATOR, code
        )
    crew.desk.append(
        Staffer(
            f"officer-{street.code.lower()}", new_name(55, 35), Role.STREET_OFFICER, street.code
        )
    )
    crew.desk.append(Staffer("admin", new_name(45, 25), Role.ADMIN, ""))
    return crew


def org_units(street: Street) -> list[Unit]:
    """The street's tree, parents first."""
    units = [Unit(street.code, street.name, Level.STREET)]
    for community in street.communities:
        units.append(Unit(community.code, community.name, Level.COMMUNITY, street.code))
        units += [Unit(g.code, g.name, Level.GRID, community.code) for g in community.grids]
    return units


async def open_accounts(access: Access, street: Street, crew: Crew) -> dict[str, str]:
    """The admin (as `doorstep admin create` makes it) sets up the tree and every account,
    and starts an enrollment for each tablet. Returns username → one-time code."""
    admin = crew.admin
    admin_id = await access.accounts.create(
        admin.username, admin.name, admin.role, [], admin.password, CLI
    )
    by = Actor(account_id=admin_id, username=admin.username)
    await access.org.put(org_units(street), by)
    ids: dict[str, str] = {}
    for staffer in crew.everyone():
        if staffer is admin:
            continue
        units = [staffer.unit] if staffer.unit else []
        ids[staffer.username] = await access.accounts.create(
            staffer.username, staffer.name, staffer.role, units, staffer.password, by
        )
    codes: dict[str, str] = {}
    for staffer in crew.with_tablets():
        device_name = f"{staffer.name}的平板（{staffer.role.label}）"
        enrollment = await access.devices.start_enrollment(ids[staffer.username], device_name, by)
        codes[staffer.username] = enrollment.code
    return codes
