"""Who is asking, and which grids they may read and write."""

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Scope:
    """An authenticated caller: a device (its updates are tagged with it) and its grids."""

    device: str
    grids: frozenset[str]

    def covers(self, grid: str) -> bool:
        return grid in self.grids
