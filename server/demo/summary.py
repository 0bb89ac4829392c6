"""What `doorstep demo` prints when it is built: the tree, the counts, where to look."""

import os
from datetime import date

from server.demo.build import Demo
from server.demo.org import render_tree


def summary(demo: Demo, seed: int, day: date, base_url: str) -> str:
    counts, shown = demo.outcome.counts, demo.outcome.shown
    crew = demo.crew
    lines = [
        f"Demo built in {demo.seconds:.1f} s (seed {seed}, field day {day.isoformat()}).",
        "",
        render_tree(demo.street, crew.members, crew.mediators, demo.outcome.households),
        "",
        f"Records: {counts['households']} households ({counts['household edits']} edited on "
        f"the day), {counts['visits']} visits ({counts['needs']} needs, "
        f"{counts['follow-ups due']} follow-ups due), {counts['cases']} mediation cases "
        f"with {counts['mediation notes']} notes.",
        f"Devices: {len(crew.tokens)} ({len(crew.members)} grid members, "
        f"{len(crew.mediators)} mediators); {counts['pushed updates']} updates pushed in "
        f"{counts['sync requests']} sync requests; refused: "
        + (", ".join(f"{who}: {len(r)}" for who, r in demo.outcome.refused.items()) or "none")
        + ".",
        "Evening sync order: " + "、".join(demo.outcome.sync_order),
        "",
        "On the field day:",
        *_situations(demo),
        "",
        f"Try the API as {demo.member} (网格员, {shown.conflict_grid}):",
        f"  export TOKEN={crew.tokens[demo.member]}",
        *(
            f'  curl -H "Authorization: Bearer $TOKEN" "{base_url}{path}"'
            for path in (
                "/api/visits",
                "/api/households?has_conflict=true",
                f"/api/households/{shown.conflict_household}",
                f"/api/cases/{shown.shared_case}",
            )
        ),
        f"  Another grid: TOKEN=$({_database_env()}doorstep device add --name 我"
        f" --grid {shown.invalid_grid})",
        f'  curl -H "Authorization: Bearer $TOKEN" "{base_url}/api/households?has_issues=true"',
    ]
    return "\n".join(lines)


def _database_env() -> str:
    """The demo's own SQLite file must be named for `doorstep device add` to find it (a
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
