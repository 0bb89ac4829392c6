"""The tablet: records kept in a local SQLite file, synced with `await tablet.sync()`."""

import uuid
from dataclasses import dataclass, field
from pathlib import Path
from types import TracebackType
from typing import Any

import httpx
import msgspec
from pycrdt import Doc

from schemas.wire import DocUpdate, SyncRequest, SyncResponse
from tablet.local_store import LocalStore, Refusal
from tablet.record import Record

MSGPACK = "application/msgpack"
# Pushes per request: a dropped answer costs at most this much to send again.
PUSH_BYTES = 2 << 20
PUSH_COUNT = 500

_encode = msgspec.msgpack.Encoder().encode
_decode_response = msgspec.msgpack.Decoder(SyncResponse).decode


class SyncFailed(Exception):
    """The sync stopped half-way (network, server); calling `sync()` again resumes it."""


@dataclass(slots=True)
class SyncReport:
    pushed: int = 0
    duplicates: int = 0
    pulled: int = 0
    requests: int = 0
    refused: list[Refusal] = field(default_factory=list)
    dropped_grids: list[str] = field(default_factory=list)
    # Pushed records whose content the server flagged: doc id -> ["fields.phone: …", …].
    issues: dict[str, list[str]] = field(default_factory=dict)


class Tablet:
    """One tablet's local store and its connection to the server.

    The device token belongs to this local store: a reinstalled tablet enrolls anew.
    """

    def __init__(
        self,
        path: str | Path,
        server: str,
        token: str,
        author: str = "tablet",
        http: httpx.AsyncClient | None = None,
    ) -> None:
        self.store = LocalStore(path)
        self.author = author
        self._records: dict[str, Record] = {}
        self._http = http or httpx.AsyncClient(base_url=server, timeout=60)
        self._owns_http = http is None
        self._headers = {"Authorization": f"Bearer {token}", "Content-Type": MSGPACK}

    async def __aenter__(self) -> "Tablet":
        return self

    async def __aexit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        trace: TracebackType | None,
    ) -> None:
        await self.close()

    async def close(self) -> None:
        if self._owns_http:
            await self._http.aclose()
        self.store.close()

    # Records, offline ------------------------------------------------------

    def new_record(self, kind: str, grid: str, fields: dict[str, Any] | None = None) -> Record:
        record = self._wrap(str(uuid.uuid4()), Doc())
        record.initialise(kind, grid, fields or {})
        return record

    def record(self, doc_id: str) -> Record:
        if doc_id not in self._records:
            state = self.store.state(doc_id)
            if state is None:
                raise KeyError(doc_id)
            doc: Doc[Any] = Doc()
            doc.apply_update(state)
            self._wrap(doc_id, doc)
        return self._records[doc_id]

    def records(self) -> list[Record]:
        return [self.record(doc_id) for doc_id in self.store.doc_ids()]

    def _wrap(self, doc_id: str, doc: Doc[Any]) -> Record:
        record = Record(doc_id, doc, self.author, self._saved)
        self._records[doc_id] = record
        return record

    def _saved(self, record: Record, update: bytes) -> None:
        self.store.save_edit(record.id, record.doc.get_update(), update)

    # Sync ------------------------------------------------------------------

    async def sync(self, max_bytes: int | None = None) -> SyncReport:
        """Push the outbox and pull until up to date. Safe to repeat; resumes after a failure."""
        report = SyncReport()
        while True:
            pending = self.store.unsent(PUSH_BYTES, PUSH_COUNT)
            answer = await self._exchange(pending, max_bytes)
            report.requests += 1
            self._settle(pending, answer, report)
            self._apply(answer)
            report.pulled += len(answer.updates)
            for flagged in answer.issues:
                report.issues[flagged.doc] = [f"{i.path}: {i.message}" for i in flagged.issues]
            report.dropped_grids = answer.dropped_grids
            if not answer.more and not self.store.unsent_count():
                break
        report.refused = self.store.refusals()
        return report

    async def _exchange(self, pending: list[Any], max_bytes: int | None) -> SyncResponse:
        request = SyncRequest(
            push=[DocUpdate(entry.doc_id, entry.data) for entry in pending],
            cursor=self.store.cursor(),
            max_bytes=max_bytes,
        )
        body = _encode(request)
        try:
            try:
                response = await self._http.post("/api/sync", content=body, headers=self._headers)
            except httpx.TransportError:
                # A reused connection the server had just closed: every request is safe to repeat.
                response = await self._http.post("/api/sync", content=body, headers=self._headers)
        except httpx.HTTPError as error:
            raise SyncFailed(f"no answer from the server: {error!r}") from error
        if response.status_code != 200:
            raise SyncFailed(f"the server answered {response.status_code}: {response.text[:500]}")
        try:
            return _decode_response(response.content)
        except msgspec.DecodeError as error:
            raise SyncFailed(f"unreadable answer: {error}") from error

    def _settle(self, pending: list[Any], answer: SyncResponse, report: SyncReport) -> None:
        done: list[int] = []
        for entry, result in zip(pending, answer.results, strict=True):
            if result.status == "refused":
                if result.reason == "missing_dependencies":
                    self.store.replace_unsent(
                        entry.doc_id, self.record(entry.doc_id).doc.get_update()
                    )
                else:
                    self.store.refuse(entry.id, result.reason or "refused", result.detail or "")
                continue
            done.append(entry.id)
            if result.status == "accepted":
                report.pushed += 1
            else:
                report.duplicates += 1
        self.store.acknowledge(done)

    def _apply(self, answer: SyncResponse) -> None:
        touched: dict[str, Doc[Any]] = {}
        for pulled in answer.updates:
            try:
                doc = self.record(pulled.doc).doc
            except KeyError:
                doc = self._wrap(pulled.doc, Doc()).doc
            doc.apply_update(pulled.update)
            touched[pulled.doc] = doc
        self.store.save_pulled({d: doc.get_update() for d, doc in touched.items()}, answer.cursor)
