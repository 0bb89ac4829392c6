"""The tablet: records kept in a local SQLite file, synced with `await tablet.sync()`.

A tablet is enrolled once, with the one-time code an admin or coordinator hands out
(typed or scanned from its QR code): `await Tablet.enroll(path, server, code, author=...)`.
The device token it gets is kept in the local store, so later `Tablet(path, server)`
needs nothing else. The token syncs the grids its account serves *now*: when the account
loses a grid, the next sync drops that grid's documents here, except those with edits
the server has not accepted (they are kept and reported, never thrown away).
"""

import secrets
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
# Sent on every request: the server records each device's app version.
DEFAULT_APP_VERSION = "doorstep-tablet-sdk/0.1.0"
# Pushes per request: a dropped answer costs at most this much to send again.
PUSH_BYTES = 2 << 20
PUSH_COUNT = 500

_encode = msgspec.msgpack.Encoder().encode
_decode_response = msgspec.msgpack.Decoder(SyncResponse).decode


class _Enrolled(msgspec.Struct):
    device_id: str
    token: str


_decode_enrolled = msgspec.json.Decoder(_Enrolled).decode
DEVICE_TOKEN_PREFIX = "dst_"


class RequestFailed(Exception):
    """The server refused a request (`status`, and its problem `reason`) or did not answer."""

    def __init__(self, message: str, status: int | None = None, reason: str | None = None):
        super().__init__(message)
        self.status = status
        self.reason = reason


class SyncFailed(RequestFailed):
    """The sync stopped half-way (network, server); calling `sync()` again resumes it.

    `reason == "invalid_token"`: the device was revoked (or its account disabled).
    """


class EnrollmentFailed(RequestFailed):
    """The code is unknown, used or expired (ask for a new one), or no answer came."""


class NotEnrolled(Exception):
    """The local store holds no device token: enroll the tablet first."""


def _refused(kind: type[RequestFailed], what: str, response: httpx.Response) -> RequestFailed:
    try:
        problem = response.json()
    except ValueError:
        problem = None
    reason = problem.get("reason") if isinstance(problem, dict) else None
    message = f"{what}: the server answered {response.status_code}: {response.text[:500]}"
    return kind(message, response.status_code, reason if isinstance(reason, str) else None)


@dataclass(slots=True)
class SyncReport:
    pushed: int = 0
    duplicates: int = 0
    pulled: int = 0
    requests: int = 0
    refused: list[Refusal] = field(default_factory=list)
    # Grids the account no longer serves; their documents were dropped here ...
    dropped_grids: list[str] = field(default_factory=list)
    dropped: list[str] = field(default_factory=list)
    # ... except these, which hold edits the server has not accepted: kept, never lost.
    kept_out_of_scope: list[str] = field(default_factory=list)
    # Pushed records whose content the server flagged: doc id -> ["fields.phone: …", …].
    issues: dict[str, list[str]] = field(default_factory=dict)


class Tablet:
    """One tablet's local store and its connection to the server.

    The device token belongs to this local store: a reinstalled tablet enrolls anew.
    Without `token`, the one stored at enrollment (or last rotation) is used; a given
    token is stored for next time.
    """

    def __init__(
        self,
        path: str | Path,
        server: str,
        token: str | None = None,
        author: str = "tablet",
        http: httpx.AsyncClient | None = None,
        app_version: str = DEFAULT_APP_VERSION,
    ) -> None:
        self.store = LocalStore(path)
        if token is not None:
            self.store.save_token(token)
        elif (token := self.store.token()) is None:
            self.store.close()
            raise NotEnrolled(f"{path} holds no device token: use Tablet.enroll(...) first")
        self.author = author
        self.app_version = app_version
        self._token = token
        self._records: dict[str, Record] = {}
        self._http = http or httpx.AsyncClient(base_url=server, timeout=60)
        self._owns_http = http is None

    @classmethod
    async def enroll(
        cls,
        path: str | Path,
        server: str,
        code: str,
        *,
        author: str = "tablet",
        http: httpx.AsyncClient | None = None,
        app_version: str = DEFAULT_APP_VERSION,
    ) -> "Tablet":
        """Redeem a one-time enrollment code (spaces, dashes and case do not matter) for
        this tablet's device token, kept in the local store at `path`.

        A code works once: if the answer is lost on the way, ask for a new code.
        """
        body = {"code": code, "app_version": app_version}
        headers = {"X-App-Version": app_version}
        try:
            if http is None:
                async with httpx.AsyncClient(base_url=server, timeout=60) as own:
                    response = await own.post("/api/enroll", json=body, headers=headers)
            else:
                response = await http.post("/api/enroll", json=body, headers=headers)
        except httpx.HTTPError as error:
            raise EnrollmentFailed(f"no answer from the server: {error!r}") from error
        if response.status_code != 201:
            raise _refused(EnrollmentFailed, "enrollment refused", response)
        try:
            enrolled = _decode_enrolled(response.content)
        except msgspec.DecodeError as error:
            raise EnrollmentFailed(f"unreadable answer: {error}") from error
        tablet = cls(path, server, enrolled.token, author, http, app_version)
        tablet.store.save_token(enrolled.token, enrolled.device_id)
        return tablet

    @property
    def device_id(self) -> str | None:
        """The server's id of this tablet (known when it was enrolled by `enroll`)."""
        return self.store.device_id()

    def _headers(self, **extra: str) -> dict[str, str]:
        return {
            "Authorization": f"Bearer {self._token}",
            "X-App-Version": self.app_version,
            **extra,
        }

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
        record = Record(doc_id, doc, self.author, self._saved, self.device_id)
        self._records[doc_id] = record
        return record

    def _saved(self, record: Record, update: bytes) -> None:
        self.store.save_edit(record.id, record.doc.get_update(), update)

    # Sync ------------------------------------------------------------------

    async def sync(self, max_bytes: int | None = None) -> SyncReport:
        """Push the outbox and pull until up to date. Safe to repeat; resumes after a failure."""
        await self._settle_rotation()
        report = SyncReport()
        while True:
            pending = self.store.unsent(PUSH_BYTES, PUSH_COUNT)
            answer = await self._exchange(pending, max_bytes)
            report.requests += 1
            self._settle(pending, answer, report)
            self._apply(answer, report)
            report.pulled += len(answer.updates)
            for flagged in answer.issues:
                report.issues[flagged.doc] = [f"{i.path}: {i.message}" for i in flagged.issues]
            if not answer.more and not self.store.unsent_count():
                break
        report.refused = self.store.refusals()
        return report

    def retry_refused(self, reason: str | None = None) -> int:
        """Queue refused edits (of one reason, or all) for the next sync, for instance
        `"out_of_scope"` ones once the account serves their grid again. Returns how many."""
        return self.store.retry_refused(reason)

    async def _exchange(self, pending: list[Any], max_bytes: int | None) -> SyncResponse:
        request = SyncRequest(
            push=[DocUpdate(entry.doc_id, entry.data) for entry in pending],
            cursor=self.store.cursor(),
            max_bytes=max_bytes,
        )
        body, headers = _encode(request), self._headers(**{"Content-Type": MSGPACK})
        try:
            try:
                response = await self._http.post("/api/sync", content=body, headers=headers)
            except httpx.TransportError:
                # A reused connection the server had just closed: every request is safe to repeat.
                response = await self._http.post("/api/sync", content=body, headers=headers)
        except httpx.HTTPError as error:
            raise SyncFailed(f"no answer from the server: {error!r}") from error
        if response.status_code != 200:
            raise _refused(SyncFailed, "sync refused", response)
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

    def _apply(self, answer: SyncResponse, report: SyncReport) -> None:
        touched: dict[str, Doc[Any]] = {}
        for pulled in answer.updates:
            try:
                doc = self.record(pulled.doc).doc
            except KeyError:
                doc = self._wrap(pulled.doc, Doc()).doc
            doc.apply_update(pulled.update)
            touched[pulled.doc] = doc
        drop = self._out_of_scope(answer.dropped_grids, report)
        states = {d: doc.get_update() for d, doc in touched.items()}
        self.store.save_pulled(states, answer.cursor, drop)
        for doc_id in drop:
            self._records.pop(doc_id, None)

    def _out_of_scope(self, grids: list[str], report: SyncReport) -> list[str]:
        """Local documents of the grids the account lost, but for those holding edits the
        server has not accepted: what a field worker typed is never thrown away."""
        if not grids:
            return []
        report.dropped_grids += [grid for grid in grids if grid not in report.dropped_grids]
        lost = [doc_id for doc_id in self.store.doc_ids() if self._grid_of(doc_id) in grids]
        unsent = self.store.docs_in_outbox()
        report.kept_out_of_scope += [doc_id for doc_id in lost if doc_id in unsent]
        dropped = [doc_id for doc_id in lost if doc_id not in unsent]
        report.dropped += dropped
        return dropped

    def _grid_of(self, doc_id: str) -> str:
        if doc_id in self._records:
            return self._records[doc_id].grid
        doc: Doc[Any] = Doc()
        doc.apply_update(self.store.state(doc_id) or b"")
        return Record(doc_id, doc, self.author, self._saved).grid

    # Device token ------------------------------------------------------------

    async def rotate_token(self) -> None:
        """Swap the device token for a new one; the old one stops working at once.

        The tablet makes the new token and keeps it before asking, so a lost answer
        cannot lock it out: the next sync or rotation finds out which token the server
        holds and keeps that one.
        """
        await self._settle_rotation()
        proposed = DEVICE_TOKEN_PREFIX + secrets.token_urlsafe(32)
        self.store.save_pending_token(proposed)
        try:
            response = await self._http.post(
                "/api/device/rotate", json={"token": proposed}, headers=self._headers()
            )
        except httpx.HTTPError as error:
            raise RequestFailed(f"no answer from the server: {error!r}") from error
        if response.status_code != 200:
            self.store.save_pending_token(None)
            raise _refused(RequestFailed, "rotation refused", response)
        self._adopt(proposed)

    def _adopt(self, token: str) -> None:
        self.store.save_token(token)
        self.store.save_pending_token(None)
        self._token = token

    async def _settle_rotation(self) -> None:
        """After a rotation whose answer was lost: keep whichever token the server has."""
        proposed = self.store.pending_token()
        if proposed is None:
            return
        try:
            if await self._works(self._token):
                self.store.save_pending_token(None)  # the request never arrived
            elif await self._works(proposed):
                self._adopt(proposed)
        except httpx.HTTPError as error:
            raise RequestFailed(f"no answer from the server: {error!r}") from error

    async def _works(self, token: str) -> bool:
        headers = {**self._headers(), "Authorization": f"Bearer {token}"}
        return (await self._http.get("/api/device", headers=headers)).status_code == 200
