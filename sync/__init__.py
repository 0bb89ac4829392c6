"""The CRDT sync core: validates, stores and serves Yjs document updates.

Transport- and storage-free: it talks to the world through the ports in
`sync.ports` and imports neither Litestar nor SQLAlchemy.
"""

from sync.engine import PullPage, PushItem, PushOutcome, PushReport, SyncEngine
from sync.errors import Reason, Refused
from sync.limits import Limits
from sync.ports import DocHead, NewUpdate, PullBatch, StoredUpdate, UpdateStore
from sync.scope import Scope

__all__ = [
    "DocHead",
    "Limits",
    "NewUpdate",
    "PullBatch",
    "PullPage",
    "PushItem",
    "PushOutcome",
    "PushReport",
    "Reason",
    "Refused",
    "Scope",
    "StoredUpdate",
    "SyncEngine",
    "UpdateStore",
]
