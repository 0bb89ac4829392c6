"""What a record page shows beside the record: a household's visits, and the names of the
devices its field history names.

Cases name no household (their parties are people, not register entries), so a household's
page lists visits only and says so.
"""

from typing import Any

import sqlalchemy as sa

from server.access.principal import Principal
from server.console.i18n import Lang
from server.console.tables import rows_of
from server.db.access_tables import devices
from server.records.api import KINDS, ListQuery, audit_list, list_records
from server.records.personal_data import mask_row
from server.web.dependencies import Services

HOUSEHOLD_VISITS = 20  # the newest; the link to the filtered list shows them all


async def household_visits(
    services: Services, caller: Principal, lang: Lang, household: str
) -> tuple[list[dict[str, Any]], bool]:
    """The household's newest visits in the caller's grids as list rows, and whether there
    are more. Audited as a list read, like the visits list."""
    query = ListQuery(exact={"household": household}, limit=HOUSEHOLD_VISITS)
    async with services.database.connect() as connection:
        found = await list_records(connection, KINDS["visits"], caller.grids, query)
    await audit_list(services, caller, "visits", query, [item["doc_id"] for item in found.items])
    return rows_of(lang, "visits", [mask_row(item) for item in found.items]), found.next is not None


async def device_names(services: Services, history: list[dict[str, Any]]) -> dict[str, str]:
    """Device id → the name it was enrolled under, for the devices the history names. An id
    the server never gave out is left out (the page shows it as written)."""
    ids = sorted({entry["device"] for entry in history if entry.get("device")})
    if not ids:
        return {}
    async with services.database.connect() as connection:
        rows = await connection.execute(
            sa.select(devices.c.id, devices.c.name).where(devices.c.id.in_(ids))
        )
        return {row.id: row.name for row in rows}
