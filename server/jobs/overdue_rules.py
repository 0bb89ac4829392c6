"""The overdue rules: built-in "1715" defaults, replaceable by a JSON file.

A need without its own deadline is due a number of days after its visit, by the size of
work its category usually is ("1715": small repairs 1 day, medium 7, large 15). A case may
stay in a status only so many days. docs/overdue-and-reports.md has the JSON format.
"""

from pathlib import Path
from typing import Annotated

import msgspec
from msgspec import Meta

from schemas.enums import CaseStatus, NeedCategory

Days = Annotated[int, Meta(ge=0, le=3650)]
SizeName = Annotated[str, Meta(pattern=r"^[a-z][a-z0-9_]{0,19}$")]
# A case in these statuses is settled: it is never stuck, nor overdue.
SETTLED = frozenset({CaseStatus.RESOLVED, CaseStatus.CLOSED})


class RulesError(Exception):
    """A rules file that cannot be used; the message names the file and the problem."""


class Rules(msgspec.Struct, kw_only=True, forbid_unknown_fields=True, frozen=True):
    # Size of work → days allowed.
    sizes: dict[SizeName, Days] = msgspec.field(
        default_factory=lambda: {"small": 1, "medium": 7, "large": 15}
    )
    # Need category → its size; a category not listed (or none) takes `default_need_size`.
    need_sizes: dict[NeedCategory, SizeName] = msgspec.field(
        default_factory=lambda: {
            NeedCategory.REPAIR: "small",
            NeedCategory.SANITATION: "small",
            NeedCategory.ELDERLY_CARE: "medium",
            NeedCategory.CHILDCARE: "medium",
            NeedCategory.HEALTH: "medium",
            NeedCategory.LEGAL_ADVICE: "medium",
            NeedCategory.SOCIAL_SECURITY: "medium",
            NeedCategory.EMPLOYMENT: "large",
            NeedCategory.OTHER: "medium",
        }
    )
    default_need_size: SizeName = "medium"
    # Case status → days a case may stay in it (since its status was last written).
    case_status_days: dict[CaseStatus, Days] = msgspec.field(
        default_factory=lambda: {
            CaseStatus.REGISTERED: 3,
            CaseStatus.ACCEPTED: 7,
            CaseStatus.MEDIATING: 15,
        }
    )
    # Flag visits whose follow-up date passed with no later visit to the household.
    follow_up: bool = True

    def need_size(self, category: str | None) -> str:
        found = NeedCategory.parse(category) if category else None
        return (
            self.need_sizes.get(found, self.default_need_size) if found else self.default_need_size
        )

    def problems(self) -> list[str]:
        """What makes these rules unusable (msgspec checked each value already)."""
        found = []
        named = set(self.need_sizes.values()) | {self.default_need_size}
        for size in sorted(named - set(self.sizes)):
            found.append(f"size {size!r} is used but not defined in sizes")
        for status in sorted(SETTLED & set(self.case_status_days)):
            found.append(
                f"`case_status_days` cannot limit '{status.value}': such a case is settled"
            )
        return found


BUILT_IN = Rules()


def parse_rules(raw: bytes, source: str = "rules") -> Rules:
    try:
        rules = msgspec.json.decode(raw, type=Rules)
    except msgspec.DecodeError as error:
        raise RulesError(f"{source}: {error}") from error
    if problems := rules.problems():
        raise RulesError(f"{source}: " + "; ".join(problems))
    return rules


def load_rules(path: str | None) -> Rules:
    """The rules in `path` (JSON), or the built-in ones when `path` is None."""
    if path is None:
        return BUILT_IN
    try:
        raw = Path(path).read_bytes()
    except OSError as error:
        raise RulesError(f"overdue rules file {path}: {error.strerror or error}") from error
    return parse_rules(raw, f"overdue rules file {path}")
