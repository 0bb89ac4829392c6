"""The org tree: list, create, rename and move units, and import them from CSV.

A unit keeps its code and its level for good (documents carry grid codes); moving it means
a new parent, and every account attached above it gains or loses its grids at once.
"""

from http import HTTPStatus
from typing import Annotated

import msgspec
from litestar import Request, Response, get, patch, post
from litestar.datastructures import State
from litestar.openapi import ResponseSpec
from litestar.params import FromPath, FromQuery

from server.access.org import Level, Unit
from server.access.org_import import MAX_CODE, MAX_NAME, RowError, import_units
from server.access.roles import Permission
from server.admin.common import BODY_REFUSED, REFUSED, allow, json_body, read_json
from server.errors import ClientError
from server.web.dependencies import Caller, ServicesDep
from server.web.openapi import JSON, PROBLEM_JSON, answers, problems, takes
from server.web.params import storable

Code = Annotated[str, msgspec.Meta(min_length=1, max_length=MAX_CODE, pattern=r"^[\w.-]+$")]
Name = Annotated[str, msgspec.Meta(min_length=1, max_length=MAX_NAME, pattern=r"\S")]
CSV_TYPES = frozenset({"text/csv", "application/csv", "text/plain"})


class UnitView(msgspec.Struct):
    code: str
    name: str
    level: Level
    level_label: str
    parent: str | None

    @classmethod
    def of(cls, unit: Unit) -> "UnitView":
        return cls(unit.code, unit.name, unit.level, unit.level.label, unit.parent)


class UnitList(msgspec.Struct):
    # Streets, then communities, then grids; by code within a level.
    items: list[UnitView]


class NewUnit(msgspec.Struct, forbid_unknown_fields=True, frozen=True):
    code: Code
    name: Name
    # street | community | grid, or 街道 | 社区 | 网格
    level: str
    parent: Code | None = None


class UnitChange(msgspec.Struct, forbid_unknown_fields=True, frozen=True):
    name: Name | msgspec.UnsetType = msgspec.UNSET
    # null detaches a grid from its community (streets have none, communities need one).
    parent: Code | msgspec.UnsetType | None = msgspec.UNSET


class ImportAnswer(msgspec.Struct):
    changes: list[str]
    errors: list[RowError]
    applied: bool


class ImportProblem(msgspec.Struct):
    """A problem document (RFC 9457) that also lists each row's errors."""

    type: str
    title: str
    status: int
    reason: str
    detail: str
    changes: list[str]
    errors: list[RowError]
    applied: bool


_new_unit = msgspec.json.Decoder(NewUnit)
_unit_change = msgspec.json.Decoder(UnitChange)


def _level(text: str) -> Level:
    level = Level.parse(text)
    if level is None:
        raise ClientError(400, "unknown_level", f"{text!r} is not street, community or grid")
    return level


@get("/api/admin/units", summary="Every org unit", responses=problems(*REFUSED))
async def list_units(services: ServicesDep, caller: Caller) -> UnitList:
    allow(caller, Permission.ADMIN)
    units = (await services.access.org.units()).values()
    ordered = sorted(units, key=lambda unit: (list(Level).index(unit.level), unit.code))
    return UnitList([UnitView.of(unit) for unit in ordered])


@post(
    "/api/admin/units",
    status_code=201,
    summary="Create an org unit",
    responses=problems(*BODY_REFUSED, 409),
    opt=json_body(NewUnit),
)
async def create_unit(
    request: Request[object, object, State], services: ServicesDep, caller: Caller
) -> UnitView:
    allow(caller, Permission.ADMIN)
    body = await read_json(request, _new_unit)
    unit = Unit(body.code, body.name, _level(body.level), body.parent)
    await services.access.org.create(unit, caller)
    return UnitView.of(unit)


@patch(
    "/api/admin/units/{code:str}",
    summary="Rename an org unit or move it to another parent",
    responses=problems(*BODY_REFUSED, 404),
    opt=json_body(UnitChange),
)
async def change_unit(
    code: FromPath[str],
    request: Request[object, object, State],
    services: ServicesDep,
    caller: Caller,
) -> UnitView:
    allow(caller, Permission.ADMIN)
    body = await read_json(request, _unit_change)
    old = (await services.access.org.units()).get(code)
    if old is None:
        raise ClientError(404, "unknown_unit", f"no org unit {code}")
    name = old.name if isinstance(body.name, msgspec.UnsetType) else body.name
    parent = old.parent if isinstance(body.parent, msgspec.UnsetType) else body.parent
    unit = Unit(code, name, old.level, parent)
    await services.access.org.put([unit], caller)
    return UnitView.of(unit)


@post(
    "/api/admin/units/import",
    status_code=200,
    summary="Create, rename and move units from CSV",
    responses={
        **problems(*BODY_REFUSED),
        422: ResponseSpec(
            ImportProblem,
            description="Rows with errors, each with its line: nothing was imported",
            media_type=PROBLEM_JSON,
            generate_examples=False,
        ),
    },
    opt=takes({"text/csv": str, "application/csv": str, "text/plain": str})
    | answers({JSON: ImportAnswer}),
)
async def import_csv(
    request: Request[object, object, State],
    services: ServicesDep,
    caller: Caller,
    dry_run: FromQuery[bool] = False,
) -> Response[bytes]:
    """A CSV file (server/access/org_import.py); with an error in any row, nothing changes."""
    allow(caller, Permission.ADMIN)
    result = await import_units(
        services.access.org, await _csv_text(request), caller, dry_run=dry_run
    )
    if result.errors:
        count = len({error.line for error in result.errors})
        problem = ImportProblem(
            "urn:doorstep:problem:invalid_rows",
            HTTPStatus(422).phrase,
            422,
            "invalid_rows",
            f"{count} rows have errors; nothing was imported",
            [],
            result.errors,
            False,
        )
        return Response(
            msgspec.json.encode(problem), status_code=422, media_type="application/problem+json"
        )
    answer = ImportAnswer(result.changes, [], not dry_run)
    return Response(msgspec.json.encode(answer), media_type="application/json")


async def _csv_text(request: Request[object, object, State]) -> str:
    content_type = request.headers.get("content-type", "").partition(";")[0].strip().lower()
    if content_type not in CSV_TYPES:
        raise ClientError(415, "unsupported_media_type", "send the file as text/csv")
    try:
        text = (await request.body()).decode("utf-8-sig")
    except UnicodeDecodeError as error:
        raise ClientError(
            400, "not_utf8", 'the file is not UTF-8: save it as "CSV UTF-8" and send it again'
        ) from error
    storable("the file", [text])
    return text


ROUTES = [list_units, create_unit, change_unit, import_csv]
