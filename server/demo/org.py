"""The demo's organisation tree: one street, three communities, twelve grids.

The demo writes this tree into the org tables (server/demo/staff.py). Grid codes read
street-community-grid: `LP-01-03`.
"""

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Compound:
    """A residential compound (小区): buildings `first`..`last`, `units` per building."""

    name: str
    first: int
    last: int
    units: int
    floors: int
    # Roughly where it is (for the visits' optional GPS).
    lat: float
    lon: float


@dataclass(frozen=True, slots=True)
class Grid:
    code: str
    name: str
    compounds: tuple[Compound, ...]


@dataclass(frozen=True, slots=True)
class Community:
    code: str
    name: str
    grids: tuple[Grid, ...]
    # Where the community's mediated cases are, so that the demo's shared case meets a grid
    # member and the mediator in one grid (the mediator serves the whole community).
    mediation_grid: str

    def grid(self, code: str) -> Grid:
        return next(grid for grid in self.grids if grid.code == code)


@dataclass(frozen=True, slots=True)
class Street:
    code: str
    name: str
    communities: tuple[Community, ...]

    @property
    def grids(self) -> tuple[Grid, ...]:
        return tuple(grid for community in self.communities for grid in community.grids)


def _grid(code: str, name: str, *compounds: Compound) -> Grid:
    return Grid(code, name, compounds)


STREET = Street(
    "LP",
    "临平街道",
    (
        Community(
            "LP-01",
            "梅堰社区",
            (
                _grid(
                    "LP-01-01", "梅堰北苑网格", Compound("梅堰小区", 1, 9, 3, 6, 30.4236, 120.2981)
                ),
                _grid(
                    "LP-01-02",
                    "梅堰南苑网格",
                    Compound("梅堰小区", 10, 18, 3, 6, 30.4219, 120.2990),
                ),
                _grid(
                    "LP-01-03",
                    "东湖花苑网格",
                    Compound("东湖花苑", 1, 12, 2, 11, 30.4201, 120.3042),
                ),
                _grid(
                    "LP-01-04",
                    "梅林网格",
                    Compound("梅林公寓", 1, 4, 2, 18, 30.4255, 120.3020),
                    Compound("梅林新村", 1, 6, 2, 5, 30.4262, 120.3034),
                ),
            ),
            mediation_grid="LP-01-02",
        ),
        Community(
            "LP-02",
            "荷花塘社区",
            (
                _grid(
                    "LP-02-01",
                    "荷花塘新村网格",
                    Compound("荷花塘新村", 1, 16, 4, 5, 30.4178, 120.2955),
                ),
                _grid(
                    "LP-02-02", "保元泾网格", Compound("保元泾小区", 1, 10, 3, 6, 30.4160, 120.2931)
                ),
                _grid(
                    "LP-02-03",
                    "西大街网格",
                    Compound("西大街小区", 1, 8, 2, 5, 30.4190, 120.2902),
                    Compound("南苑街宿舍", 1, 3, 2, 4, 30.4182, 120.2914),
                ),
                _grid(
                    "LP-02-04", "望梅公寓网格", Compound("望梅公寓", 1, 6, 2, 17, 30.4147, 120.2970)
                ),
            ),
            mediation_grid="LP-02-01",
        ),
        Community(
            "LP-03",
            "藕花洲社区",
            (
                _grid(
                    "LP-03-01",
                    "藕花洲家园网格",
                    Compound("藕花洲家园", 1, 14, 2, 11, 30.4120, 120.3008),
                ),
                _grid("LP-03-02", "星河湾网格", Compound("星河湾", 1, 8, 2, 26, 30.4105, 120.3051)),
                _grid(
                    "LP-03-03", "世纪花园网格", Compound("世纪花园", 1, 12, 3, 7, 30.4093, 120.2986)
                ),
                _grid(
                    "LP-03-04", "临平新苑网格", Compound("临平新苑", 1, 10, 2, 6, 30.4071, 120.3027)
                ),
            ),
            mediation_grid="LP-03-03",
        ),
    ),
)


def render_tree(street: Street, staff: dict[str, list[str]], households: dict[str, int]) -> str:
    """The tree as text, each unit with the people serving it (unit code → "网格员 王芳")."""

    def served(code: str) -> str:
        return "".join(f" · {who}" for who in staff.get(code, []))

    lines = [f"{street.name} {street.code}{served(street.code)}"]
    for c, community in enumerate(street.communities):
        last_community = c == len(street.communities) - 1
        branch, stem = ("└─ ", "   ") if last_community else ("├─ ", "│  ")
        lines.append(f"{branch}{community.name} {community.code}{served(community.code)}")
        for g, grid in enumerate(community.grids):
            twig = "└─ " if g == len(community.grids) - 1 else "├─ "
            compounds = "、".join(compound.name for compound in grid.compounds)
            lines.append(
                f"{stem}{twig}{grid.code} {grid.name}（{compounds}）{served(grid.code)}"
                f" · {households.get(grid.code, 0)} 户"
            )
    return "\n".join(lines)
