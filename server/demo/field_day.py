"""A simulated field day, worked on real tablets (`tablet.Tablet`) against a real server.

Before the day, every grid member registers the grid's households, earlier visits and
cases, and syncs; mediators pull their community and add what they did on its cases. On the
day every tablet works offline — visits, household edits, new cases, mediation notes —
including three things a coordinator must see:

(a) a grid member and the community's mediator both change one household's phone offline:
    a concurrent write, kept by the log as a conflict;
(b) both write mediation notes on one case offline: both notes survive the merge;
(c) a grid member types letters into a new household's phone: the server keeps it and
    flags the record.

In the evening the tablets sync in random order, then once more overnight so every
tablet has everything in its scope.
"""

import random
from collections import Counter
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from typing import Any

from schemas.enums import HouseholdTag as Tag
from schemas.enums import RecordKind
from server.demo import people
from server.demo.case_fields import (
    FIELD_TIMEZONE,
    Parties,
    case_fields,
    choose_parties,
    note_at,
    status_steps,
)
from server.demo.cases import CASES, SHARED_CASE, CaseTemplate
from server.demo.households import (
    Home,
    family_name,
    make_home,
    make_homes,
    member_fields,
    renter,
)
from server.demo.org import Street
from server.demo.visits import visit_fields
from tablet import Record, Tablet
from tablet.local_store import Refusal

HOUSEHOLDS_PER_GRID = (22, 30)
VISITS_ON_THE_DAY = (9, 14)
# What a resident who would not give a number got typed into the phone field (拼音).
INVALID_PHONE = "buyuantigong"


@dataclass(slots=True)
class Worker:
    """A grid member (网格员) or a mediator (调解员) and the tablet they carry."""

    name: str
    role: str
    # The unit served: a member's grid, a mediator's community (the tablet syncs its grids).
    unit: str
    tablet: Tablet


@dataclass(slots=True)
class Shown:
    """Where the demo's three field-day situations ended up."""

    conflict_household: str = ""
    conflict_grid: str = ""
    conflict_phones: dict[str, str] = field(default_factory=dict)
    shared_case: str = ""
    shared_case_title: str = ""
    shared_case_authors: list[str] = field(default_factory=list)
    invalid_household: str = ""
    invalid_grid: str = ""


@dataclass(slots=True)
class Outcome:
    counts: Counter[str] = field(default_factory=Counter)
    households: dict[str, int] = field(default_factory=dict)
    sync_order: list[str] = field(default_factory=list)
    # Worker → the updates the server refused (none expected: bad content is flagged).
    refused: dict[str, list[Refusal]] = field(default_factory=dict)
    shown: Shown = field(default_factory=Shown)


@dataclass(slots=True)
class OpenCase:
    template: CaseTemplate
    grid: str
    parties: Parties
    doc_id: str = ""


class FieldDay:
    def __init__(
        self,
        rng: random.Random,
        day: date,
        street: Street,
        members: dict[str, Worker],
        mediators: dict[str, Worker],
    ) -> None:
        self.rng = rng
        self.day = day
        self.street = street
        self.members = members
        self.mediators = mediators
        self.homes: dict[str, list[Home]] = {}
        # Addresses given out, per grid.
        self.taken: dict[str, set[str]] = {grid.code: set() for grid in street.grids}
        self.cases: dict[str, OpenCase] = {}
        self.outcome = Outcome()

    async def run(self) -> Outcome:
        self.register()
        await self.sync(list(self.members.values()) + list(self.mediators.values()))
        self.mediators_catch_up()
        await self.sync(list(self.mediators.values()) + list(self.members.values()))
        self.work_offline()
        everyone = list(self.members.values()) + list(self.mediators.values())
        evening = self.rng.sample(everyone, len(everyone))
        self.outcome.sync_order = [f"{w.name}（{w.role}，{w.unit}）" for w in evening]
        await self.sync(evening)
        await self.sync(self.rng.sample(everyone, len(everyone)))
        self.check()
        return self.outcome

    async def sync(self, workers: list[Worker]) -> None:
        for worker in workers:
            report = await worker.tablet.sync()
            self.outcome.counts["pushed updates"] += report.pushed
            self.outcome.counts["sync requests"] += report.requests
            if report.refused:
                self.outcome.refused[worker.name] = report.refused

    # Before the day --------------------------------------------------------------------

    def register(self) -> None:
        """Each grid member's register: households, earlier visits, earlier cases."""
        for grid in self.street.grids:
            member = self.members[grid.code]
            count = self.rng.randint(*HOUSEHOLDS_PER_GRID)
            homes = make_homes(self.rng, grid, count, self.day.year, self.taken[grid.code])
            self.homes[grid.code] = homes
            for home in homes:
                self.new_household(member, home)
            for home in homes:
                if self.rng.random() < 0.55:
                    at = self.moment(self.rng.randint(3, 30), 9 * 60, 17 * 60)
                    self.new_visit(member, home, at, past=True)
        used: set[int] = set()
        for template in CASES:
            code = self.case_grid(template)
            parties = choose_parties(self.rng, template, self.homes[code], used, self.day.year)
            self.cases[template.key] = OpenCase(template, code, parties)
            if not template.on_field_day:
                self.open_case(template.key, self.members[code])

    def case_grid(self, template: CaseTemplate) -> str:
        """Mediated cases are in the community's mediation grid, the others elsewhere."""
        community = self.street.communities[template.community]
        if template.with_mediator:
            return community.mediation_grid
        return self.rng.choice(
            [g.code for g in community.grids if g.code != community.mediation_grid]
        )

    def mediators_catch_up(self) -> None:
        """What the mediators did on their community's cases before the day."""
        for case in self.cases.values():
            if not case.template.with_mediator or case.template.on_field_day:
                continue
            mediator = self.mediator_of(case)
            record = mediator.tablet.record(case.doc_id)
            self.write_notes(record, case, "mediator", before=True)
            for step in status_steps(case.template, case.parties, self.day):
                self.write(record, step)

    # On the day, offline ---------------------------------------------------------------

    def work_offline(self) -> None:
        for grid in self.street.grids:
            self.members_day(self.members[grid.code])
        for worker in self.mediators.values():
            self.mediators_day(worker)
        self.concurrent_phone()
        self.invalid_phone()

    def members_day(self, member: Worker) -> None:
        """Visits, then the grid's cases: new ones registered, notes on the others."""
        self.visits_of_the_day(member)
        for key, case in self.cases.items():
            if case.grid != member.unit:
                continue
            if case.template.on_field_day:
                self.open_case(key, member)
            else:
                record = member.tablet.record(case.doc_id)
                self.write_notes(record, case, "member", before=False)

    def mediators_day(self, mediator: Worker) -> None:
        """Notes and status changes on the community's mediated cases."""
        for case in self.cases.values():
            template = case.template
            # A case registered today by the member is not on this tablet yet.
            mine = self.mediator_of(case) is mediator
            if not mine or not template.with_mediator or template.on_field_day:
                continue
            record = mediator.tablet.record(case.doc_id)
            self.write_notes(record, case, "mediator", before=False)
            if template.field_day_status:
                self.write(record, {"status": template.field_day_status.value})

    def visits_of_the_day(self, member: Worker) -> None:
        homes = self.homes[member.unit]
        count = min(len(homes), self.rng.randint(*VISITS_ON_THE_DAY))
        minute = 8 * 60 + 40
        for home in self.rng.sample(homes, count):
            if 11 * 60 + 40 <= minute < 13 * 60 + 30:
                minute = 13 * 60 + 30  # lunch
            at = datetime.combine(self.day, time(minute // 60, minute % 60), FIELD_TIMEZONE)
            self.new_visit(member, home, at, past=False)
            minute += self.rng.randint(20, 45)
            if self.rng.random() < 0.12:
                self.edit_household(member, home)

    def edit_household(self, member: Worker, home: Home) -> None:
        """What a visit changes in the register: a newborn, a new tag."""
        record = member.tablet.record(home.doc_id)
        young = [m for m in home.members if 24 <= m.age(self.day.year) <= 40]
        if young and self.rng.random() < 0.4:
            parent = young[0] if young[0].male else young[-1]
            male = self.rng.random() < 0.5
            baby = people.person(
                self.rng,
                male=male,
                born=self.day.year,
                relation="子" if male else "女",
                family=family_name(parent),
            )
            home.members.append(baby)
            self.write(record, {"members": [member_fields(m) for m in home.members]})
            self.outcome.counts["household edits"] += 1
            return
        extra = self.rng.choice((Tag.PARTY_MEMBER, Tag.DISABILITY, Tag.VETERAN))
        if extra not in home.tags:
            home.tags.append(extra)
            self.write(record, {"tags": [tag.value for tag in home.tags]})
            self.outcome.counts["household edits"] += 1

    def concurrent_phone(self) -> None:
        """(a) A grid member and the community's mediator both change a household's phone."""
        case = self.cases[SHARED_CASE]
        home = case.parties.home
        member, mediator = self.members[case.grid], self.mediator_of(case)
        shown = self.outcome.shown
        shown.conflict_household, shown.conflict_grid = home.doc_id, case.grid
        for worker in (member, mediator):
            phone = people.mobile(self.rng)
            self.write(worker.tablet.record(home.doc_id), {"phone": phone})
            shown.conflict_phones[worker.name] = phone

    def invalid_phone(self) -> None:
        """(c) A renter moved in; the member typed 拼音 into the phone field."""
        community = self.street.communities[1]
        grid = next(g for g in community.grids if g.code != community.mediation_grid)
        member = self.members[grid.code]
        home = make_home(self.rng, grid, self.day.year, self.taken[grid.code], renter)
        home.phone = INVALID_PHONE
        self.homes[grid.code].append(home)
        self.new_household(member, home)
        at = datetime.combine(self.day, time(16, 20), FIELD_TIMEZONE)
        self.new_visit(member, home, at, past=False)
        self.outcome.shown.invalid_household = home.doc_id
        self.outcome.shown.invalid_grid = grid.code

    # Records ---------------------------------------------------------------------------

    def new_household(self, member: Worker, home: Home) -> None:
        record = member.tablet.new_record(RecordKind.HOUSEHOLD.value, member.unit, home.fields())
        home.doc_id = record.id
        self.outcome.counts["households"] += 1
        self.outcome.households[member.unit] = self.outcome.households.get(member.unit, 0) + 1

    def new_visit(self, member: Worker, home: Home, at: datetime, *, past: bool) -> None:
        fields = visit_fields(self.rng, home, member.name, at, past=past)
        member.tablet.new_record(RecordKind.VISIT.value, member.unit, fields)
        counts = self.outcome.counts
        counts["visits"] += 1
        counts["needs"] += len(fields.get("needs", []))
        counts["follow-ups due"] += "follow_up_due" in fields

    def open_case(self, key: str, member: Worker) -> None:
        case = self.cases[key]
        fields = case_fields(case.template, case.parties, self.day)
        record = member.tablet.new_record(RecordKind.CASE.value, case.grid, fields)
        case.doc_id = record.id
        self.outcome.counts["cases"] += 1
        self.write_notes(record, case, "member", before=True)
        self.write_notes(record, case, "member", before=False)
        if not case.template.with_mediator:
            for step in status_steps(case.template, case.parties, self.day):
                self.write(record, step)

    def write_notes(self, record: Record, case: OpenCase, by: str, *, before: bool) -> None:
        context = case.parties.context(self.day.year)
        for note in case.template.notes:
            if note.by != by or (note.days_ago > 0) != before:
                continue
            record.add_note(
                note.text.format(**context),
                kind="mediation",
                method=note.method.value,
                next_step=note.next_step.format(**context),
                at=note_at(self.day, note),
            )
            self.outcome.counts["mediation notes"] += 1

    @staticmethod
    def write(record: Record, fields: dict[str, Any]) -> None:
        with record.edit():
            for name, value in fields.items():
                record.set(name, value)

    # Helpers ---------------------------------------------------------------------------

    def mediator_of(self, case: OpenCase) -> Worker:
        return self.mediators[self.street.communities[case.template.community].code]

    def moment(self, days_ago: int, earliest: int, latest: int) -> datetime:
        minute = self.rng.randint(earliest, latest)
        day = self.day - timedelta(days=days_ago)
        return datetime.combine(day, time(minute // 60, minute % 60), FIELD_TIMEZONE)

    def check(self) -> None:
        """After the overnight sync the member's tablet must show (a) and (b)."""
        shown = self.outcome.shown
        case = self.cases[SHARED_CASE]
        tablet = self.members[case.grid].tablet
        household = tablet.record(shown.conflict_household)
        if len(household.current_writes("phone")) < 2:
            raise RuntimeError("the concurrent phone edits did not both reach the tablet")
        record = tablet.record(case.doc_id)
        shown.shared_case, shown.shared_case_title = case.doc_id, str(record.get("title"))
        today = self.day.isoformat()
        authors = {str(n.get("by")) for n in record.notes if str(n.get("at")).startswith(today)}
        shown.shared_case_authors = sorted(authors)
        if len(shown.shared_case_authors) < 2:
            raise RuntimeError("the field-day notes of both authors did not reach the tablet")
