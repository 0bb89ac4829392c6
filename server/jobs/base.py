"""What every nightly job is: a name, and a run that returns its figures.

A job is idempotent (a second run right after the first changes nothing) and resumable
(killed anywhere, the next run finishes the work): it keeps no state of its own outside
the database, and each of its steps commits on its own. The runner (`server.jobs.runner`)
holds the database lock that keeps a job to one process at a time and records each run.
"""

from dataclasses import dataclass
from datetime import datetime
from typing import Any, Protocol

from sqlalchemy.ext.asyncio import AsyncEngine

from server.records.projection import Projector
from server.settings import Settings
from sync import SyncEngine

# A run's figures, stored with the run as JSON: counts, sizes, paths, what was repaired.
Figures = dict[str, Any]


class Progress(Protocol):
    def update(self, done: int, total: int | None = None, note: str = "") -> None:
        """`done` of `total` units of work so far (total unknown: None)."""
        ...


class NoProgress:
    def update(self, done: int, total: int | None = None, note: str = "") -> None:
        pass


@dataclass(frozen=True, slots=True)
class JobContext:
    database: AsyncEngine
    sync: SyncEngine
    projector: Projector
    settings: Settings
    # The run's clock, aware UTC, fixed at the start of the run (tests freeze it).
    now: datetime
    progress: Progress


class Job(Protocol):
    name: str
    # One line for `doorstep jobs list` and the API.
    description: str

    async def run(self, context: JobContext) -> Figures: ...
