"""The list page's "export" links: the list as shown, every page of it, as CSV or XLSX.

The filters are the page's own form parameters (days in Asia/Shanghai), read as the list
reads them; the file and its audit entry are `server.records.export_api.export`'s. Always masked:
a coordinator who needs numbers in full asks the API with `reveal=true`.
"""

from dataclasses import replace
from typing import Any, Literal

from litestar import Request, get
from litestar.datastructures import State
from litestar.params import FromPath
from litestar.response import Stream

from server.access.roles import Permission
from server.console.filters import list_query
from server.console.render import lang_of
from server.errors import ClientError
from server.records import export_api
from server.records.api import KINDS
from server.records.export_files import Format
from server.web.dependencies import Caller, ServicesDep

FORMATS: tuple[Format, ...] = ("csv", "xlsx")


@get("/console/{kind:str}/export", include_in_schema=False)
async def console_export(
    request: Request[Any, Any, State],
    kind: FromPath[Literal["visits", "cases", "households"]],
    services: ServicesDep,
    caller: Caller,
) -> Stream:
    params = dict(request.query_params.items())
    format = params.get("format", "csv")
    if format not in FORMATS:
        raise ClientError(400, "unknown_format", f"no export as `{format}`: csv or xlsx")
    personal = caller.can(Permission.PERSONAL_DATA)  # may the search match phone numbers
    query = replace(list_query(KINDS[kind], params, personal=personal), after=None)
    lang = lang_of(request)
    # `export_api` by its module: it imports the console's catalogue, which imports this.
    return await export_api.export(
        services,
        caller,
        kind,
        query,
        format="xlsx" if format == "xlsx" else "csv",
        lang=lang,
        reveal=False,
    )
