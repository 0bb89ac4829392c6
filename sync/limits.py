"""Bounds that keep one request or one document from stalling the server."""

from dataclasses import dataclass, field

from sync.shape import ShapeLimits


@dataclass(frozen=True, slots=True)
class Limits:
    # pycrdt holds the GIL while applying: a bound on update size bounds the stall.
    max_update_bytes: int = 1 << 20
    # The memory loaded documents may take (an estimate, sync.cache says how it is made).
    doc_cache_bytes: int = 64 << 20
    # A loaded record takes at most ~4x the bytes of the updates applied to it (pycrdt 0.14).
    doc_cost_factor: int = 4
    # Each page in flight is held in memory: many tablets at once multiply it.
    pull_max_bytes: int = 1 << 20
    pull_max_rows: int = 5000
    # A document whose log grows past this many rows is compacted after the push.
    compact_after_updates: int = 256
    # Depth, entries and string sizes of the values inside a document (sync.shape).
    shape: ShapeLimits = field(default_factory=ShapeLimits)
