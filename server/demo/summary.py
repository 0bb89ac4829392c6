"""What `doorstep demo` prints when it is built: the tree, the counts, where to look."""

import json
import os
from datetime import date

from server.access.roles import Role
from server.demo.build import Demo
from server.demo.org import render_tree
from server.demo.staff import DEMO_PASSWORD, Crew


def summary(demo: Demo, seed: int, day: date, base_url: str) -> str:
    counts = demo.outcome.counts
    crew = demo.crew
    lines = [
        f"Demo built in {demo.seconds:.1f} s (seed {seed}, field day {day.isoformat()}).",
        "",
        render_tree(demo.street, _staff_by_unit(crew), demo.outcome.households),
        "",
        f"Records: {counts['households']} households ({counts['household edits']} edited on "
        f"the day), {counts['visits']} visits ({counts['needs']} needs, "
        f"{counts['follow-ups due']} follow-ups due), {counts['cases']} mediation cases "
        f"with {counts['mediation notes']} notes.",
        f"Tablets: {len(crew.tokens)} enrolled by one-time code ({len(crew.members)} grid "
        f"members, {len(crew.mediators)} mediators); {counts['pushed updates']} updates "
        f"pushed in {counts['sync requests']} sync requests; refused: "
        + (", ".join(f"{who}: {len(r)}" for who, r in demo.outcome.refused.items()) or "none")
        + ".",
        "Evening sync order: " + "、".join(demo.outcome.sync_order),
        "",
        "On the field day:",
        *_situations(demo),
        "",
        *_accounts(crew),
        "",
        *_try_it(demo, base_url),
    ]
    return "\n".join(lines)


def _staff_by_unit(crew: Crew) -> dict[str, list[str]]:
    staff: dict[str, list[str]] = {}
    for staffer in crew.everyone():
        staff.setdefault(staffer.unit, []).append(f"{staffer.role.label} {staffer.name}")
    return staff


def _accounts(crew: Crew) -> list[str]:
    lines = [
        f"Accounts. Desk accounts share the password {DEMO_PASSWORD} (for this demo only: never",
        "use it for real accounts); grid members and mediators have none, they work through",
        "their enrolled tablets.",
    ]
    for role in Role:
        staff = crew.by_role(role)
        if staff:
            usernames = ", ".join(staffer.username for staffer in staff)
            lines.append(f"  {role.label} ({role.value}): {usernames}")
    return lines


def _try_it(demo: Demo, base_url: str) -> list[str]:
    shown, crew = demo.outcome.shown, demo.crew
    coordinator = crew.coordinators[_community_of(demo, shown.invalid_grid)]
    login = json.dumps({"username": coordinator.username, "password": DEMO_PASSWORD})
    other = crew.members[shown.invalid_grid]
    return [
        f"Try the API as {demo.member.name} (网格员, {shown.conflict_grid}) with the token of "
        "their tablet:",
        f"  export TOKEN={crew.tokens[demo.member.username]}",
        *(
            f'  curl -H "Authorization: Bearer $TOKEN" "{base_url}{path}"'
            for path in (
                "/api/visits",
                "/api/households?has_conflict=true",
                f"/api/households/{shown.conflict_household}",
                f"/api/cases/{shown.shared_case}",
            )
        ),
        f"Log in as {coordinator.name} (社区工作人员, {coordinator.unit}) and see the community:",
        f"  curl -c cookies.txt -H 'Content-Type: application/json' -d '{login}' "
        f"{base_url}/api/session",
        f'  curl -b cookies.txt "{base_url}/api/households?has_issues=true"',
        f"Enroll one more tablet for {other.name} ({shown.invalid_grid}): a one-time code the "
        "tablet redeems once for its token:",
        f"  CODE=$({_database_env()}doorstep device enroll --account {other.username})",
        f'  curl -H \'Content-Type: application/json\' -d "{{\\"code\\": \\"$CODE\\"}}" '
        f"{base_url}/api/enroll",
    ]


def _community_of(demo: Demo, grid: str) -> str:
    return next(c.code for c in demo.street.communities if any(g.code == grid for g in c.grids))


def _database_env() -> str:
    """The demo's own SQLite file must be named for `doorstep device enroll` to find it (a
    PostgreSQL URL is left to the caller's environment: it may carry a password)."""
    url = os.environ.get("DOORSTEP_DATABASE_URL", "")
    return f"DOORSTEP_DATABASE_URL={url} " if url.startswith("sqlite") else ""


def _situations(demo: Demo) -> list[str]:
    shown = demo.outcome.shown
    phones = " and ".join(f"{who} ({phone})" for who, phone in shown.conflict_phones.items())
    lines = [
        f"  (a) household {shown.conflict_household} ({shown.conflict_grid}): phone written "
        f"offline by {phones}",
    ]
    if demo.conflict:
        values = " vs ".join(str(entry.get("value")) for entry in demo.conflict.get("entries", []))
        lines.append(f"      → open conflict on `phone`: {values}")
    lines.append(
        f"  (b) case “{shown.shared_case_title}” ({shown.shared_case}): notes written offline "
        f"by {' and '.join(shown.shared_case_authors)}, both kept"
    )
    lines.append(
        f"  (c) household {shown.invalid_household} ({shown.invalid_grid}): letters typed "
        "into the phone"
    )
    lines += [
        f"      → flagged {issue.get('path')}: {issue.get('message')}" for issue in demo.issues
    ]
    if demo.read_api_note:
        lines.append(f"  ({demo.read_api_note})")
    return lines
