"""`POST /api/households/import`: a register file (multipart field `file`) checked, and
imported unless `dry_run=true`. Needs REVIEW; rows only for the caller's grids."""

from typing import Any

import msgspec
from litestar import Request, post
from litestar.datastructures import State, UploadFile
from litestar.params import FromQuery

from server.errors import ClientError
from server.households.register import MAX_FILE_BYTES
from server.households.service import ImportReport, import_register, preview
from server.web.dependencies import Caller, ServicesDep
from server.web.openapi import MULTIPART, problems, takes

# The file and the multipart framing around it; a bigger body is refused with 413.
MAX_BODY = MAX_FILE_BYTES + 64 * 1024


class RegisterUpload(msgspec.Struct):
    # The register: a CSV (UTF-8 or GB18030) or XLSX file.
    file: bytes


class RowErrorOut(msgspec.Struct):
    row: int
    column: str | None
    reason: str
    detail: str


class RowOut(msgspec.Struct):
    row: int
    doc_id: str
    grid: str
    status: str  # new | created | imported | recorded


class ImportAnswer(msgspec.Struct):
    dry_run: bool
    format: str
    rows: int
    ignored_columns: list[str]
    errors: list[RowErrorOut]
    households: list[RowOut]
    to_create: int
    existing: int
    created: int


def answer(report: ImportReport) -> ImportAnswer:
    checked = report.checked
    done = "created" if report.imported else "new"
    return ImportAnswer(
        dry_run=not report.imported,
        format=report.format,
        rows=report.rows,
        ignored_columns=checked.ignored,
        errors=[RowErrorOut(e.row, e.column, e.reason, e.detail) for e in checked.errors],
        households=[
            RowOut(p.row, p.doc_id, p.grid, done if p.status == "new" else p.status)
            for p in checked.planned
        ],
        to_create=0 if report.imported else report.count("new"),
        existing=report.count("imported") + report.count("recorded"),
        created=report.created,
    )


async def uploaded(request: Request[Any, Any, State]) -> tuple[bytes, str]:
    """The `file` field's bytes and name."""
    form = await request.form()
    upload = form.get("file")
    if not isinstance(upload, UploadFile):
        raise ClientError(400, "file_required", "send the register as the multipart field `file`")
    content = await upload.read(MAX_FILE_BYTES + 1)
    return content, upload.filename or "register"


@post(
    "/api/households/import",
    status_code=200,
    summary="Import a households register (CSV or XLSX); dry_run=true to preview",
    request_max_body_size=MAX_BODY,
    responses=problems(400, 401, 403, 413, 422),
    opt=takes({MULTIPART: RegisterUpload}),
)
async def import_households(
    request: Request[Any, Any, State],
    services: ServicesDep,
    caller: Caller,
    dry_run: FromQuery[bool] = False,
) -> ImportAnswer:
    content, name = await uploaded(request)
    if dry_run:
        return answer(await preview(services, caller, content))
    return answer(await import_register(services, caller, content, name))


ROUTES = [import_households]
