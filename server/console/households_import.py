"""Importing a households register from the console: upload → preview → confirm.

The preview checks every row and writes nothing; it carries the file itself (base64, in a
hidden field) to the confirm form, which checks it all again and imports: no upload is kept
on the server between the two, so any server process can take the confirmation. Forms post
the session's CSRF token as `csrf_token`. The rules are `server.households.service`'s.
"""

import base64
import binascii
from typing import Any

from litestar import Request, get, post
from litestar.datastructures import State, UploadFile
from litestar.response import Template

from server.access.principal import Principal
from server.access.roles import Permission
from server.console.render import page
from server.errors import ClientError
from server.households.api import MAX_BODY
from server.households.register import MAX_FILE_BYTES, MAX_ROWS
from server.households.rows import COLUMNS, HEADERS
from server.households.service import ImportReport, import_register, preview
from server.web.dependencies import Caller, ServicesDep

PAGE = "/console/households/import"
# The confirm form carries the file in base64: a third more.
MAX_CONFIRM_BODY = MAX_BODY * 4 // 3 + 1024


def _page(
    request: Request[Any, Any, State], caller: Principal, status: int = 200, **context: Any
) -> Template:
    return page(
        request,
        "households_import.html",
        caller,
        status=status,
        columns=COLUMNS,
        headers=HEADERS,
        max_mb=MAX_FILE_BYTES // (1024 * 1024),
        max_rows=f"{MAX_ROWS:,}",
        **context,
    )


@get(PAGE, include_in_schema=False)
async def import_form(request: Request[Any, Any, State], caller: Caller) -> Template:
    caller.require(Permission.REVIEW)
    return _page(request, caller)


@post(PAGE, include_in_schema=False, status_code=200, request_max_body_size=MAX_BODY)
async def import_preview(
    request: Request[Any, Any, State], services: ServicesDep, caller: Caller
) -> Template:
    form = await request.form()
    upload = form.get("file")
    if not isinstance(upload, UploadFile) or not upload.filename:
        raise ClientError(400, "file_required", "choose a CSV or XLSX file")
    content = await upload.read(MAX_FILE_BYTES + 1)
    report = await preview(services, caller, content)
    ready = report.count("new") and not report.checked.errors
    carried = base64.urlsafe_b64encode(content).decode("ascii") if ready else ""
    return _shown(request, caller, report, filename=upload.filename, content=carried)


@post(
    f"{PAGE}/confirm",
    include_in_schema=False,
    status_code=200,
    request_max_body_size=MAX_CONFIRM_BODY,
)
async def import_confirm(
    request: Request[Any, Any, State], services: ServicesDep, caller: Caller
) -> Template:
    form = await request.form()
    carried, filename = form.get("content"), form.get("filename")
    try:
        content = base64.urlsafe_b64decode(carried if isinstance(carried, str) else "")
    except (binascii.Error, ValueError) as error:
        raise ClientError(400, "bad_request", "the form lost its file: upload it again") from error
    name = filename[:200] if isinstance(filename, str) and filename else "register"
    report = await import_register(services, caller, content, name)
    return _shown(request, caller, report, filename=name)


def _shown(
    request: Request[Any, Any, State], caller: Principal, report: ImportReport, **context: Any
) -> Template:
    checked = report.checked
    return _page(
        request,
        caller,
        report=report,
        errors=checked.errors,
        planned=checked.planned,
        existing=report.count("imported") + report.count("recorded"),
        **context,
    )


ROUTES = [import_form, import_preview, import_confirm]
