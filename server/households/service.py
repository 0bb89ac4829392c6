"""Preview and import a households register: check every row, then create the good rows'
households as documents through the sync engine's server path, projected and audited.

The rule: an import with any row in error writes nothing (fix the file, upload again).
Rows whose household exists already (imported before, or a household a tablet recorded at
the same address) are left as they are, so a register imported twice creates no duplicate.
"""

import asyncio
import uuid
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa
from pycrdt import Array, Doc, Map

from server.access.principal import Principal
from server.db.record_tables import households
from server.db.tables import documents
from server.errors import ClientError
from server.households.register import read_register
from server.households.rows import ADDRESS, Checked, Planned, address_key, check_rows
from server.review.edits import Reviewer
from server.review.service import SERVER_DEVICE, reviewer
from server.tablets.sync_api import decode_pushed
from server.web.dependencies import Services
from sync import Scope

SCHEMA_VERSION = 1  # docs/record-documents.md
BATCH = 200  # documents per append transaction (built in the event loop: keep it short)
LOOKUP_CHUNK = 1_000  # ids per `IN (…)`


@dataclass(frozen=True, slots=True)
class ImportReport:
    format: str
    checked: Checked
    created: int = 0
    imported: bool = False  # the households were written (not a preview)

    @property
    def rows(self) -> int:
        return self.checked.rows

    def count(self, status: str) -> int:
        return sum(1 for planned in self.checked.planned if planned.status == status)


def _chunks(items: Sequence[Any], size: int) -> Iterator[Sequence[Any]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]


async def _mark_existing(services: Services, planned: list[Planned]) -> None:
    """`imported`: its document exists. `recorded`: a household at the same address in the
    same grid exists (as projected: one synced in the last seconds may not show yet)."""
    by_id = {p.doc_id: p for p in planned}
    by_address = {address_key(p.grid, p.fields): p for p in planned}
    grids = sorted({p.grid for p in planned})
    async with services.database.connect() as connection:
        for ids in _chunks(list(by_id), LOOKUP_CHUNK):
            found = await connection.scalars(
                sa.select(documents.c.id).where(documents.c.id.in_(ids))
            )
            for doc_id in found:
                by_id[doc_id].status = "imported"
        address = [households.c[name] for name in ADDRESS]
        query = sa.select(households.c.grid, *address).where(households.c.grid.in_(grids))
        for grid, *parts in await connection.execute(query):
            key = address_key(grid, dict(zip(ADDRESS, parts, strict=True)))
            if key in by_address and by_address[key].status == "new":
                by_address[key].status = "recorded"


async def preview(services: Services, caller: Principal, content: bytes) -> ImportReport:
    """Every row checked against the schema, the caller's grids and what exists; nothing
    written."""
    await reviewer(services, caller)  # the right to write records: REVIEW
    sheet = read_register(content)
    # Pure Python over thousands of rows: in a thread, so other requests get their turns.
    checked = await asyncio.to_thread(check_rows, sheet.header, sheet.rows, caller.grids)
    if not checked.errors:
        await _mark_existing(services, checked.planned)
    return ImportReport(sheet.format, checked)


def household_document(planned: Planned, who: Reviewer, source: str) -> Callable[[Doc[Any]], None]:
    """What a tablet's `new_record("household", …)` writes, by the importer, with a note
    saying where it came from. Log entries carry `"server": true` (not a tablet's edit)."""

    def build(doc: Doc[Any]) -> None:
        doc.get("meta", type=Map).update(
            {
                "kind": "household",
                "grid": planned.grid,
                "created_by": who.name,
                "created_at": who.at,
                "schema": SCHEMA_VERSION,
            }
        )
        doc.get("fields", type=Map).update(planned.fields)
        entry = {"by": who.name, "at": who.at, "prev": [], "server": True}
        doc.get("log", type=Array).extend(
            [{"id": str(uuid.uuid4()), "f": f, "v": v, **entry} for f, v in planned.fields.items()]
        )
        note = {"id": str(uuid.uuid4()), "by": who.name, "at": who.at, "kind": "import"}
        text = f"从住户台账导入：{source} 第 {planned.row} 行"
        doc.get("notes", type=Array).append({**note, "text": text})

    return build


async def import_register(
    services: Services, caller: Principal, content: bytes, source: str
) -> ImportReport:
    """Create the households of a register with no row in error (else 422, nothing written)."""
    report = await preview(services, caller, content)
    checked = report.checked
    detail: dict[str, Any] = {"file": source[:200], "format": report.format, "rows": report.rows}
    if checked.errors:
        detail |= {"rows_with_errors": checked.rows_with_errors}
        await _audit(services, caller, detail, "refused")
        raise ClientError(
            422,
            "import_has_errors",
            f"{checked.rows_with_errors} rows have errors: fix them and import again "
            "(preview with dry_run=true shows them); nothing was imported",
        )
    who = await reviewer(services, caller)
    scope = Scope(SERVER_DEVICE, caller.grids)
    created = 0
    for chunk in _chunks([p for p in checked.planned if p.status == "new"], BATCH):
        creations = [(p.doc_id, household_document(p, who, source)) for p in chunk]
        written = await services.sync.create_as_server(scope, creations)
        services.projection.notify(decode_pushed(written))
        for planned, outcome in zip(chunk, written.outcomes, strict=True):
            if outcome.status == "accepted":
                created += 1
            elif outcome.status == "duplicate":  # imported meanwhile: it exists now
                planned.status = "imported"
            else:  # the rows were checked against the same grids: a bug, not bad input
                raise RuntimeError(f"household {planned.doc_id} refused: {outcome.detail}")
    report = ImportReport(report.format, checked, created, imported=True)
    detail |= {
        "created": created,
        "existing": report.count("imported") + report.count("recorded"),
        "grids": sorted({p.grid for p in checked.planned}),
    }
    await _audit(services, caller, detail, "ok")
    return report


async def _audit(
    services: Services, caller: Principal, detail: dict[str, Any], outcome: str
) -> None:
    await services.access.audit.record(
        "households.imported", caller, outcome=outcome, target_kind="household", detail=detail
    )
