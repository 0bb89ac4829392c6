"""A case template made concrete: its parties from the grid's households, its fields, the
status steps it went through, and when its notes were written."""

import random
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from schemas.enums import CaseLevel, CaseStatus, PartyRole
from schemas.enums import HouseholdTag as Tag
from server.demo import people
from server.demo.cases import STATUS_PATH, CaseTemplate, NoteTemplate
from server.demo.households import ELDERLY_TAGS, Home, family_name
from server.demo.visits import iso

FIELD_TIMEZONE = ZoneInfo("Asia/Shanghai")


@dataclass(slots=True)
class Parties:
    applicant: str
    home: Home
    respondent: str
    respondent_contact: str
    # The respondent is an organisation; `contact_person` speaks for it.
    contact_person: str | None = None

    def context(self, year: int) -> dict[str, Any]:
        where = self.home.address
        person = next((m for m in self.home.members if m.name == self.applicant), self.home.head)
        return {
            "a": self.applicant,
            "b": self.contact_person or self.respondent,
            "addr_a": str(where),
            "compound": where.compound.name,
            "building": where.building,
            "unit": where.unit,
            "age_a": person.age(year),
        }


def _fits(template: CaseTemplate, home: Home) -> bool:
    if template.applicant == "elder":
        return bool(set(home.tags) & ELDERLY_TAGS)
    if template.applicant == "renter":
        return Tag.MIGRANT in home.tags
    return True


def choose_parties(
    rng: random.Random, template: CaseTemplate, homes: list[Home], used: set[int], year: int
) -> Parties:
    """The applicant from a household of the grid not yet in a case; the respondent a
    neighbour, a relative, someone from outside, or an organisation."""
    free = [home for home in homes if id(home) not in used]
    home = rng.choice([home for home in free if _fits(template, home)] or free)
    used.add(id(home))
    applicant = home.oldest() if template.applicant == "elder" else home.head
    if template.organisation:
        manager = people.full_name(rng, rng.random() < 0.6, year - rng.randint(30, 50))
        place = {"compound": home.address.compound.name}
        organisation = template.organisation.format(**place)
        return Parties(applicant.name, home, organisation, people.mobile(rng), manager)
    if template.key == "support":  # the eldest son
        son = people.full_name(rng, True, applicant.birth_year + 26, family_name(applicant))
        return Parties(applicant.name, home, son, people.mobile(rng))
    if template.key in ("wages", "deposit"):  # a contractor, a landlord: not from the grid
        outsider = people.full_name(rng, rng.random() < 0.7, year - rng.randint(35, 60))
        return Parties(applicant.name, home, outsider, people.mobile(rng))
    others = [other for other in homes if other is not home]
    where = home.address
    nearby = [
        other
        for other in others
        if (other.address.compound, other.address.building) == (where.compound, where.building)
    ]
    neighbour = rng.choice(nearby or others)
    return Parties(applicant.name, home, neighbour.head.name, neighbour.phone)


def local(day: date, days_ago: int, at: str) -> datetime:
    hours, minutes = (int(part) for part in at.split(":"))
    return datetime.combine(day - timedelta(days=days_ago), time(hours, minutes), FIELD_TIMEZONE)


def note_at(day: date, note: NoteTemplate) -> str:
    return iso(local(day, note.days_ago, note.time))


def case_fields(template: CaseTemplate, parties: Parties, day: date) -> dict[str, Any]:
    """The fields a case is registered with (status `registered`)."""
    context = parties.context(day.year)
    applicant = {
        "name": parties.applicant,
        "role": PartyRole.APPLICANT.value,
        "contact": parties.home.phone,
    }
    contact = parties.respondent_contact
    if parties.contact_person:
        contact = f"{parties.contact_person} {contact}"
    respondent = {
        "name": parties.respondent,
        "role": PartyRole.RESPONDENT.value,
        "contact": contact,
    }
    if template.on_field_day:  # reported in the morning, it happened the evening before
        occurred = local(day, 1, "20:30")
    else:
        occurred = local(day, template.days_ago, "09:00")
    escalated = template.status is CaseStatus.ESCALATED
    return {
        "title": template.title.format(**context),
        "type": template.type.value,
        "parties": [applicant, respondent],
        "place": template.place.format(**context),
        "occurred_at": iso(occurred),
        "description": template.description.format(**context),
        "level": (CaseLevel.GRID if escalated else template.level).value,
        "status": CaseStatus.REGISTERED.value,
        "deadline": (day + timedelta(days=template.deadline_in)).isoformat(),
    }


def status_steps(template: CaseTemplate, parties: Parties, day: date) -> list[dict[str, Any]]:
    """The writes that moved the case to its status, one group per step."""
    context = parties.context(day.year)
    steps: list[dict[str, Any]] = []
    for status in STATUS_PATH[template.status]:
        step: dict[str, Any] = {"status": status.value}
        if status in (CaseStatus.RESOLVED, CaseStatus.FAILED):
            for name in ("outcome", "agreement"):
                text = getattr(template, name)
                if text:
                    step[name] = text.format(**context)
        if status is CaseStatus.ESCALATED:
            step["level"] = template.level.value
            if template.urgent:  # supervision (督办) marks it urgent
                step["urgent"] = True
        steps.append(step)
    return steps
