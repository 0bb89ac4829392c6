"""A real server process, on SQLite and PostgreSQL, sent what killed it (SIGSEGV) or
poisoned a record: it answers each with a 4xx reason, stays up, and stores nothing."""

import asyncio
import uuid
from concurrent.futures import ThreadPoolExecutor

import httpx
import msgspec
import pytest
import sqlalchemy as sa

from server.db.engine import make_engine
from server.db.tables import updates

from .. import yjs_bytes as y
from ..unit.records import new_record
from .conftest import ServerProcess

pytestmark = pytest.mark.slow
CLIENT = 777

# Each took the whole process down, or was stored and broke every later reader.
HOSTILE = {
    "an array nested 50,000 deep": y.field_value(CLIENT, y.nested_arrays(50_000)),
    "an object nested 30,000 deep": y.field_value(CLIENT, y.nested_objects(30_000)),
    "an array nested 1,000 deep": y.field_value(CLIENT, y.nested_arrays(1_000)),
    "Y.Arrays nested 100,000 deep": y.nested_types(CLIENT, 100_000),
}


def row_count(server: ServerProcess) -> int:
    async def count() -> int:
        database = make_engine(server.env["DOORSTEP_DATABASE_URL"])
        try:
            async with database.connect() as connection:
                return int(
                    (
                        await connection.execute(sa.select(sa.func.count()).select_from(updates))
                    ).scalar_one()
                )
        finally:
            await database.dispose()

    with ThreadPoolExecutor(1) as thread:
        return thread.submit(asyncio.run, count()).result()


def test_hostile_updates_are_refused_and_the_server_stays_up(server: ServerProcess) -> None:
    token = server.add_device("G1")
    headers = {"Authorization": f"Bearer {token}"}
    doc_id, _, first = new_record(grid="G1")
    with httpx.Client(base_url=server.url, headers=headers, timeout=60) as client:
        assert client.post(f"/docs/{doc_id}/update", content=first).status_code == 200
        rows = row_count(server)
        for name, update in HOSTILE.items():
            answer = client.post(f"/docs/{doc_id}/update", content=update)
            assert (answer.status_code, answer.json()["reason"]) == (413, "too_deep"), name
            body = msgspec.msgpack.encode(
                {
                    "push": [
                        {"doc": doc_id, "update": update},
                        {"doc": str(uuid.uuid4()), "update": update},
                    ]
                }
            )
            answer = client.post(
                "/api/sync", content=body, headers={"Content-Type": "application/msgpack"}
            )
            assert answer.status_code == 200, name
            results = msgspec.msgpack.decode(answer.content)["results"]
            assert [r["reason"] for r in results] == ["too_deep", "too_deep"], name
            assert server.process is not None and server.process.poll() is None, name
        assert client.get("/readyz").status_code == 200
        assert row_count(server) == rows
        # The record reads as it was.
        assert client.get(f"/docs/{doc_id}/update").content
