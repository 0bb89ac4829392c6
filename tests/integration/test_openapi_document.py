"""The OpenAPI document says what the server reads and answers: the bodies handlers read
themselves, answers in each media type, problem documents with their status codes; and
the `Allow` of 405 and OPTIONS answers lists every method of the path.
(tests/e2e/test_openapi_fuzz.py checks the answers against it with schemathesis.)"""

from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import MakeDatabaseUrl

from .harness import Harness, running_app

PROBLEM = "application/problem+json"


@pytest.fixture
def sqlite_database(make_database_url: MakeDatabaseUrl, sqlite_template: Path) -> str:
    """The document is the same on every database: SQLite only."""
    return make_database_url("sqlite")


@pytest.fixture
async def harness(sqlite_database: str) -> AsyncIterator[Harness]:
    async with running_app(sqlite_database) as h:
        yield h


@pytest.fixture
async def document(harness: Harness) -> dict[str, Any]:
    response = await harness.client.get("/schema/openapi.json")
    assert response.status_code == 200
    answer: dict[str, Any] = response.json()
    return answer


def operations(document: dict[str, Any]) -> list[tuple[str, str, dict[str, Any]]]:
    return [
        (method.upper(), path, operation)
        for path, item in document["paths"].items()
        for method, operation in item.items()
    ]


def test_sync_takes_and_answers_messagepack_and_json(document: dict[str, Any]) -> None:
    sync = document["paths"]["/api/sync"]["post"]
    for media in ["application/msgpack", "application/json"]:
        body = sync["requestBody"]["content"][media]["schema"]
        assert set(body["properties"]) == {"push", "cursor", "pull", "max_bytes"}
        assert body["additionalProperties"] is False
        answer = sync["responses"]["200"]["content"][media]["schema"]
        assert {"results", "updates", "cursor", "more"} <= set(answer["required"])
    pushed = sync["requestBody"]["content"]["application/msgpack"]["schema"]
    update = pushed["properties"]["push"]["items"]["properties"]["update"]
    assert update == {"type": "string", "format": "binary"}  # base64 only in JSON
    assert {"400", "401", "403", "413", "415", "503"} <= set(sync["responses"])


def test_a_raw_update_is_octets_and_every_refusal_is_declared(document: dict[str, Any]) -> None:
    post = document["paths"]["/docs/{doc_id}/update"]["post"]
    assert post["requestBody"]["content"] == {
        "application/octet-stream": {"schema": {"type": "string", "format": "binary"}}
    }
    assert set(post["responses"]) == {"200", "400", "401", "403", "404", "409", "413", "422", "503"}


def test_the_feed_answers_its_pages_not_a_string(document: dict[str, Any]) -> None:
    answer = document["paths"]["/api/changes"]["get"]["responses"]["200"]
    page = answer["content"]["application/json"]["schema"]
    assert set(page["properties"]["items"]["items"]["properties"]) >= {"doc_id", "cursor", "seq"}
    assert "application/x-ndjson" in answer["content"]
    assert set(answer["headers"]) == {"X-Doorstep-Next", "X-Doorstep-More", "X-Doorstep-Waiting"}


def test_errors_are_problem_documents(document: dict[str, Any]) -> None:
    special = {("GET", "/readyz", "503"), ("POST", "/api/admin/units/import", "422")}
    for method, path, operation in operations(document):
        for status, response in operation["responses"].items():
            if int(status) < 400 or (method, path, status) in special:
                continue
            assert PROBLEM in response["content"], (method, path, status, response)
            schema = response["content"][PROBLEM]["schema"]
            assert schema == {"$ref": "#/components/schemas/Problem"}, (method, path, status)
    problem = document["components"]["schemas"]["Problem"]
    assert set(problem["required"]) == {"type", "title", "status", "reason", "detail"}


def test_every_operation_with_credentials_declares_401(document: dict[str, Any]) -> None:
    open_to_all = {"/healthz", "/readyz", "/api/enroll"}
    for method, path, operation in operations(document):
        if path not in open_to_all and (method, path) != ("POST", "/api/session"):
            assert "401" in operation["responses"], (method, path)
    login = document["paths"]["/api/session"]["post"]["responses"]
    assert "Retry-After" in login["429"]["headers"]
    assert set(document["paths"]["/api/session"]["post"]["requestBody"]["content"]) == {
        "application/json",
        "application/x-www-form-urlencoded",
        "multipart/form-data",
    }


def test_the_console_is_not_in_the_document(document: dict[str, Any]) -> None:
    assert not [path for path in document["paths"] if path.startswith("/console")]


async def test_405_and_options_name_every_method_of_the_path(harness: Harness) -> None:
    refused = await harness.client.request("PUT", "/api/admin/accounts")
    assert refused.status_code == 405
    assert refused.headers["content-type"].startswith(PROBLEM)
    assert set(refused.headers["allow"].replace(" ", "").split(",")) == {"GET", "OPTIONS", "POST"}
    options = await harness.client.request("OPTIONS", "/api/admin/accounts")
    assert set(options.headers["allow"].replace(" ", "").split(",")) == {"GET", "OPTIONS", "POST"}
