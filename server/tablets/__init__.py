"""Everything a tablet calls: batch sync, the per-document Yjs endpoints, enrollment and its
device token."""
