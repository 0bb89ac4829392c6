"""The Python client SDK for tablets: records edited offline, synced when a connection comes."""

from tablet.client import SyncFailed, SyncReport, Tablet
from tablet.record import Record

__all__ = ["Record", "SyncFailed", "SyncReport", "Tablet"]
