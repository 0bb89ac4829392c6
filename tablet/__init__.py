"""The Python client SDK for tablets: records edited offline, synced when a connection comes.

Enroll once with a one-time code (`await Tablet.enroll(path, server, code, author=...)`),
then `Tablet(path, server)` reopens the local store with its device token.
"""

from tablet.client import (
    EnrollmentFailed,
    NotEnrolled,
    RequestFailed,
    SyncFailed,
    SyncReport,
    Tablet,
)
from tablet.record import Record

__all__ = [
    "EnrollmentFailed",
    "NotEnrolled",
    "Record",
    "RequestFailed",
    "SyncFailed",
    "SyncReport",
    "Tablet",
]
