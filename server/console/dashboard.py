"""The dashboard: the caller's grids in pictures, for a period (default: the last 30 days).

Figures come from `figures.py`, pictures from `charts.py`; the read is audited once as
`dashboard.viewed`, with the period and grid asked for.
"""

from collections.abc import Mapping
from datetime import UTC, date, datetime, timedelta
from typing import Any

from litestar import Request, get
from litestar.datastructures import State
from litestar.response import Template
from markupsafe import Markup

from schemas.enums import Coded, NeedCategory, NeedStatus
from server.access.roles import Permission
from server.console.charts import Item, bars, donut
from server.console.figures import Figures, Period, figures
from server.console.i18n import Lang, label, prettified, translate
from server.console.render import SHANGHAI, lang_of, page
from server.errors import ClientError
from server.web.dependencies import Caller, ServicesDep
from server.web.params import day

DEFAULT_DAYS = 30
LONGEST = 366  # days: a year's report, not the whole history in one picture
SILENT_DAYS = 3
NEEDS: dict[str, type[Coded]] = {"category": NeedCategory, "status": NeedStatus}


def _day(params: Mapping[str, str], name: str) -> date | None:
    value = params.get(name, "").strip()
    return day(name, value) if value else None


def period_of(params: Mapping[str, str], today: date) -> Period:
    until = _day(params, "until") or today
    since = _day(params, "since") or until - timedelta(days=DEFAULT_DAYS - 1)
    if since > until:
        raise ClientError(400, "empty_period", "the period ends before it starts")
    if (until - since).days >= LONGEST:
        raise ClientError(400, "period_too_long", f"a period is at most {LONGEST} days")
    return Period(since, until)


def silent_days(params: Mapping[str, str]) -> int:
    value = params.get("days", "").strip()
    if not value:
        return SILENT_DAYS
    # ASCII digits only (`²` is a digit to `isdigit`, not to `int`), and few of them.
    if not (value.isascii() and value.isdigit() and len(value) <= 4) or not (
        1 <= int(value) <= LONGEST
    ):
        raise ClientError(400, "malformed_days", f"`days` is a number of days, 1 to {LONGEST}")
    return int(value)


def _grids(caller_grids: frozenset[str], asked: str) -> frozenset[str]:
    """One grid of the caller's, or all of them; another's grid shows nothing."""
    return caller_grids & {asked} if asked else caller_grids


def _need_label(lang: Lang, column: str, code: str) -> str:
    member = NEEDS[column].parse(code)
    if member is None:
        return code
    return prettified(member.value) if lang == "en" else member.label


def _coded(lang: Lang, column: str, codes: list[str]) -> list[Item]:
    return [Item(code, label(lang, column, code) or "—") for code in codes]


def charts(lang: Lang, found: Figures, period: Period) -> dict[str, Markup]:
    def t(key: str, **values: Any) -> str:
        return translate(lang, key, **values)

    def text(key: str) -> dict[str, str]:
        return {"empty": t("no_data"), "summary": t("figures")}

    grids = sorted({grid for day in found.visits_per_day.values() for grid in day})
    days = [Item(day, day[5:]) for day in period.days()]
    categories = sorted(found.needs)
    statuses = sorted({status for row in found.needs.values() for status in row})
    by_status = found.cases_by_status
    resolved = found.cases_resolved
    rate = f"{100 * resolved / found.cases_total:.0f}%" if found.cases_total else ""
    return {
        "visits_per_day": bars(
            "visits_per_day",
            t("visits_per_day"),
            days,
            [Item(grid, grid or "—") for grid in grids],
            found.visits_per_day,
            **text("visits_per_day"),
        ),
        "needs": bars(
            "needs",
            t("needs_by_category"),
            [Item(c, _need_label(lang, "category", c)) for c in categories],
            [Item(s, _need_label(lang, "status", s)) for s in statuses],
            found.needs,
            **text("needs"),
        ),
        "cases_by_type": bars(
            "cases_by_type",
            t("cases_by_type"),
            _coded(lang, "type", sorted(found.cases_by_type)),
            [Item("n", t("cases"))],
            {code: {"n": n} for code, n in found.cases_by_type.items()},
            **text("cases_by_type"),
        ),
        "cases_by_level": donut(
            "cases_by_level",
            t("cases_by_level"),
            [
                (item, found.cases_by_level[item.code])
                for item in _coded(lang, "level", sorted(found.cases_by_level))
            ],
            **text("cases_by_level"),
        ),
        "cases_by_status": bars(
            "cases_by_status",
            t("cases_by_status"),
            _coded(lang, "status", sorted(by_status)),
            [Item("n", t("cases"))],
            {code: {"n": n} for code, n in by_status.items()},
            **text("cases_by_status"),
        ),
        "resolution": donut(
            "resolution",
            t("resolution_rate"),
            [
                (Item("resolved", t("resolved_cases")), resolved),
                (Item("unresolved", t("unresolved_cases")), found.cases_total - resolved),
            ],
            centre=rate,
            **text("resolution"),
        ),
    }


@get("/console/dashboard", include_in_schema=False)
async def dashboard(
    request: Request[Any, Any, State], services: ServicesDep, caller: Caller
) -> Template:
    caller.require(Permission.READ_RECORDS)
    params = dict(request.query_params.items())
    now = datetime.now(UTC)
    period = period_of(params, now.astimezone(SHANGHAI).date())
    days = silent_days(params)
    asked = params.get("grid", "").strip()[:64]
    grids = _grids(caller.grids, asked)
    async with services.database.connect() as connection:
        found = await figures(connection, grids, period, now, days)
    await services.access.audit.record(
        "dashboard.viewed",
        caller,
        target_kind="dashboard",
        detail={
            "since": period.since.isoformat(),
            "until": period.until.isoformat(),
            "grid": asked or None,
            "days": days,
        },
    )
    lang = lang_of(request)
    return page(
        request,
        "dashboard.html",
        caller,
        charts=charts(lang, found, period),
        figures=found,
        days=days,
        values={
            "since": period.since.isoformat(),
            "until": period.until.isoformat(),
            "grid": asked,
            "days": str(days),
        },
        grids=sorted(caller.grids),
    )
