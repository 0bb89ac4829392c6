"""The OpenAPI document at `/schema/openapi.json`: what Litestar reads off the handlers'
signatures, and what it cannot, declared beside each handler:

- `responses=problems(401, 404, …)`: the problem documents (RFC 9457, `Problem`) the
  operation answers, one status each;
- `opt=takes({...})`: a body the handler reads itself (MessagePack or JSON, a form, CSV,
  raw Yjs bytes), in each media type it takes; `opt=answers({...})`: a success answer in
  more than one media type.

Litestar builds the document once, at the first request for it; `TrueDocument` then adds
what `opt` declares, and the headers of 401 and 429 answers.
"""

import copy
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import msgspec
from litestar import Litestar, Request
from litestar.openapi import OpenAPIConfig, ResponseSpec
from litestar.openapi.plugins import JsonRenderPlugin
from litestar.routes import HTTPRoute

from server.web.problems import Problem

PROBLEM_JSON = "application/problem+json"
JSON = "application/json"
MSGPACK = "application/msgpack"
OCTETS = "application/octet-stream"
FORM = "application/x-www-form-urlencoded"
MULTIPART = "multipart/form-data"
NDJSON = "application/x-ndjson"
# A request body of these media types is JSON; of the others, `bytes` are raw bytes.
_JSON_BODIES = frozenset({JSON})
_FORMS = frozenset({FORM, MULTIPART})

WHY = {
    400: "Malformed: a parameter out of its range or not of its type, a body that does not"
    " decode, a token this server did not give (`reason` says which)",
    401: "No credentials, or unknown, revoked or expired ones",
    403: "These credentials may not do this (a role without the permission, a device token"
    " where a session is needed, a session's change without its CSRF token)",
    404: "No such thing in the caller's scope (what is out of scope looks absent)",
    409: "In conflict with the current state (`reason` says with what)",
    413: "The body, or something in it, is too large",
    415: "The body's Content-Type is not one this operation reads",
    422: "Understood, but its content is refused (`reason` says why); nothing was changed",
    429: "Too many failed logins: try again after `Retry-After` seconds",
    503: "The database is unavailable: retry later",
}
_HEADERS = {
    401: {
        "WWW-Authenticate": {
            "description": "`Bearer`: the scheme of device and machine tokens",
            "schema": {"type": "string"},
        }
    },
    429: {
        "Retry-After": {
            "description": "Seconds to wait before the next try",
            "required": True,
            "schema": {"type": "string", "pattern": "^[0-9]+$"},
        }
    },
}
_BODY, _ANSWER = "openapi_body", "openapi_answer"
# The review operations (server/review/api.py), whose decorators would say
# `responses=problems(...)` too: the review module is the sync core's to change for now.
# 400 a decision that does not apply, 404 a record not in scope (or a conflict not open),
# 409 a level changed meanwhile or an unreadable document, 413 a value past the limits.
ELSEWHERE = {
    ("post", "/api/{kind}/{doc_id}/review"): (400, 401, 403, 404, 409, 413, 503),
    ("post", "/api/{kind}/review"): (400, 401, 403, 409, 413, 503),
    ("post", "/api/{kind}/{doc_id}/conflicts/{conflict_id}/resolve"): (
        *(400, 401, 403, 404, 409, 413, 503),
    ),
}


def problems(*statuses: int) -> dict[int, ResponseSpec]:
    """The problem documents an operation answers: `responses=problems(401, 403)`."""
    return {
        status: ResponseSpec(
            Problem, description=WHY[status], media_type=PROBLEM_JSON, generate_examples=False
        )
        for status in sorted(statuses)
    }


@dataclass(frozen=True, slots=True)
class Body:
    # Media type → the type the handler decodes from it (`bytes`: raw bytes, `str`: text).
    types: Mapping[str, Any]
    required: bool = True


def takes(types: Mapping[str, Any], *, required: bool = True) -> dict[str, Any]:
    """`opt=` of a handler that reads its body itself, in each of these media types."""
    return {_BODY: Body(types, required)}


def answers(types: Mapping[str, Any]) -> dict[str, Any]:
    """`opt=` of a handler whose success answer comes in each of these media types."""
    return {_ANSWER: types}


def schema_of(kind: Any, media_type: str = JSON) -> dict[str, Any]:
    """`kind`'s JSON schema (msgspec's own, so it says what the decoder accepts), with its
    definitions inlined; outside JSON, bytes are raw bytes rather than base64."""
    if kind is bytes and media_type not in _JSON_BODIES:
        return {"type": "string", "format": "binary"}
    generated = msgspec.json.schema(kind)
    inlined: dict[str, Any] = _inline(generated, generated.get("$defs", {}))
    if media_type in _FORMS:  # a form's other fields are ignored, not refused
        inlined.pop("additionalProperties", None)
    return inlined if media_type in _JSON_BODIES else _raw_bytes(inlined)


def _inline(node: Any, definitions: dict[str, Any]) -> Any:
    if isinstance(node, dict):
        if "$ref" in node:
            return _inline(definitions[node["$ref"].rpartition("/")[2]], definitions)
        return {k: _inline(v, definitions) for k, v in node.items() if k != "$defs"}
    if isinstance(node, list):
        return [_inline(item, definitions) for item in node]
    return node


def _raw_bytes(node: Any) -> Any:
    if isinstance(node, dict):
        if node.get("contentEncoding") == "base64":
            return {"type": "string", "format": "binary"}
        return {k: _raw_bytes(v) for k, v in node.items()}
    if isinstance(node, list):
        return [_raw_bytes(item) for item in node]
    return node


def _content(types: Mapping[str, Any]) -> dict[str, Any]:
    return {media: {"schema": schema_of(kind, media)} for media, kind in types.items()}


def complete(document: dict[str, Any], app: Litestar) -> dict[str, Any]:
    """The document Litestar generated, with what the handlers' `opt` declares."""
    done = copy.deepcopy(document)
    for route in app.routes:
        if not isinstance(route, HTTPRoute):
            continue
        for method, (handler, _) in route.route_handler_map.items():
            operation = done["paths"].get(route.path_format, {}).get(method.lower())
            if operation is None:  # not in the schema
                continue
            if (body := handler.opt.get(_BODY)) is not None:
                operation["requestBody"] = {
                    "required": body.required,
                    "content": _content(body.types),
                }
            if (types := handler.opt.get(_ANSWER)) is not None:
                operation["responses"][str(handler.status_code)]["content"] = _content(types)
    for (verb, path), statuses in ELSEWHERE.items():
        responses = done["paths"][path][verb]["responses"]
        for status in statuses:
            responses[str(status)] = _problem(status)
    for operations in done["paths"].values():
        for operation in operations.values():
            responses = operation.get("responses", {})
            for status, response in responses.items():
                if _litestars_own(response):  # its 400 for handlers with parameters
                    responses[status] = response = _problem(int(status))
                if PROBLEM_JSON in response.get("content", {}) and int(status) in _HEADERS:
                    response["headers"] = _HEADERS[int(status)]
    return done


def _litestars_own(response: dict[str, Any]) -> bool:
    """An error answer as Litestar describes it: ours are problem documents."""
    schema = response.get("content", {}).get(JSON, {}).get("schema", {})
    return set(schema.get("required", ())) == {"detail", "status_code"}


def _problem(status: int) -> dict[str, Any]:
    schema = {"$ref": "#/components/schemas/Problem"}
    return {"description": WHY[status], "content": {PROBLEM_JSON: {"schema": schema}}}


class TrueDocument(JsonRenderPlugin):
    """`/schema/openapi.json`, completed once per application."""

    def __init__(self) -> None:
        super().__init__(path="/openapi.json")
        self._rendered: bytes | None = None

    def render(self, request: Request[Any, Any, Any], openapi_schema: dict[str, Any]) -> bytes:
        if self._rendered is None:
            self._rendered = self.render_json(request, complete(openapi_schema, request.app))
        return self._rendered


def openapi_config(version: str) -> OpenAPIConfig:
    return OpenAPIConfig(
        title="Doorstep",
        version=version,
        description="Offline-first sync server for tablet field work (see README.md).",
        render_plugins=[TrueDocument()],
        use_handler_docstrings=True,
    )
